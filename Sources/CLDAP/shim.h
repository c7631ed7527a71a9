// The one C header of the CLDAP module: OpenLDAP's libldap/liblber, plus typed wrappers for what
// Swift cannot import or would call with the wrong C type. Each wrapper says why it exists.
#ifndef MIXER_SYNC_CLDAP_SHIM_H
#define MIXER_SYNC_CLDAP_SHIM_H

#include <ldap.h>
#include <lber.h>
#include <sys/time.h>

/// ldap_set_option takes `void *`; an int option must point at a C `int`, never a Swift `Int`.
static inline int cldap_set_int(LDAP *ld, int option, int value) {
    return ldap_set_option(ld, option, &value);
}

/// LDAP_OPT_ON / LDAP_OPT_OFF are pointer macros that do not import (and their global is a Swift 6 error).
static inline int cldap_set_flag(LDAP *ld, int option, int on) {
    return ldap_set_option(ld, option, on ? LDAP_OPT_ON : LDAP_OPT_OFF);
}

/// Timeouts (LDAP_OPT_TIMEOUT, LDAP_OPT_NETWORK_TIMEOUT) are `struct timeval *`.
static inline int cldap_set_timeout(LDAP *ld, int option, long milliseconds) {
    struct timeval tv;
    tv.tv_sec = milliseconds / 1000;
    tv.tv_usec = (milliseconds % 1000) * 1000;
    return ldap_set_option(ld, option, &tv);
}

/// String options (CA file, certificate paths) are `const char *`; libldap copies them.
static inline int cldap_set_string(LDAP *ld, int option, const char *value) {
    return ldap_set_option(ld, option, value);
}

/// Integer read-back (LDAP_OPT_RESULT_CODE after a failed call).
static inline int cldap_get_int(LDAP *ld, int option) {
    int value = 0;
    if (ldap_get_option(ld, option, &value) != LDAP_OPT_SUCCESS) return -1;
    return value;
}

/// String read-back (LDAP_OPT_DIAGNOSTIC_MESSAGE); the caller frees with ldap_memfree.
static inline char *cldap_get_string(LDAP *ld, int option) {
    char *value = NULL;
    if (ldap_get_option(ld, option, &value) != LDAP_OPT_SUCCESS) return NULL;
    return value;
}

/// LDAP_OPT_X_TLS_NEWCTX must follow per-handle TLS options or they silently do not apply; 0 = client context.
static inline int cldap_tls_new_context(LDAP *ld) {
    int is_server = 0;
    return ldap_set_option(ld, LDAP_OPT_X_TLS_NEWCTX, &is_server);
}

/// ldap_result with a timeout in milliseconds (a negative value would mean "wait forever": never used).
static inline int cldap_result(LDAP *ld, int msgid, int all, long milliseconds, LDAPMessage **result) {
    struct timeval tv;
    tv.tv_sec = milliseconds / 1000;
    tv.tv_usec = (milliseconds % 1000) * 1000;
    return ldap_result(ld, msgid, all, &tv, result);
}

/// ldap_search_ext with a per-request time limit, server controls, and no client-side size limit.
static inline int cldap_search(LDAP *ld, const char *base, int scope, const char *filter, char **attrs,
                               LDAPControl **serverctrls, long milliseconds, int *msgid) {
    struct timeval tv;
    tv.tv_sec = milliseconds / 1000;
    tv.tv_usec = (milliseconds % 1000) * 1000;
    return ldap_search_ext(ld, base, scope, filter, attrs, 0, serverctrls, NULL, &tv, 0, msgid);
}

/// LDAP_SASL_SIMPLE is `((char*)0)` and does not import: a simple bind through ldap_sasl_bind_s.
static inline int cldap_simple_bind(LDAP *ld, const char *dn, const char *password, ber_len_t length) {
    struct berval cred;
    cred.bv_val = (char *)password;
    cred.bv_len = length;
    return ldap_sasl_bind_s(ld, dn, LDAP_SASL_SIMPLE, &cred, NULL, NULL, NULL);
}

/// SASL EXTERNAL (client certificate or ldapi:// peer credentials). Cyrus-backed servers may answer
/// "bind in progress" (14) with an empty challenge first; the empty response completes it.
static inline int cldap_sasl_external_bind(LDAP *ld) {
    static char empty[1] = "";
    struct berval cred;
    struct berval *servercred = NULL;
    int rc = LDAP_SASL_BIND_IN_PROGRESS;
    for (int round = 0; round < 3 && rc == LDAP_SASL_BIND_IN_PROGRESS; round++) {
        cred.bv_val = empty;
        cred.bv_len = 0;
        rc = ldap_sasl_bind_s(ld, NULL, "EXTERNAL", &cred, NULL, NULL, &servercred);
        if (servercred != NULL) { ber_bvfree(servercred); servercred = NULL; }
    }
    return rc;
}

/// The paged-results cookie as a berval the caller owns (ber_memfree on bv_val).
static inline int cldap_page_cookie(LDAP *ld, LDAPControl **ctrls, struct berval *cookie, int *found) {
    LDAPControl *ctrl = ldap_control_find(LDAP_CONTROL_PAGEDRESULTS, ctrls, NULL);
    ber_int_t estimate = 0;
    *found = ctrl != NULL;
    cookie->bv_val = NULL;
    cookie->bv_len = 0;
    if (ctrl == NULL) return LDAP_SUCCESS;
    return ldap_parse_pageresponse_control(ld, ctrl, &estimate, cookie);
}

/// The DirSync response control (Active Directory, [MS-ADTS] 3.1.1.3.4.1.3) among a result's controls: its
/// "more to come" flag and the cookie to send next (freed by the caller with ber_memfree).
static inline int cldap_dirsync_cookie(LDAP *ld, LDAPControl **ctrls, struct berval *cookie, int *more, int *found) {
    LDAPControl *ctrl = ldap_control_find(LDAP_CONTROL_X_DIRSYNC, ctrls, NULL);
    *found = ctrl != NULL;
    *more = 0;
    cookie->bv_val = NULL;
    cookie->bv_len = 0;
    if (ctrl == NULL) return LDAP_SUCCESS;
    return ldap_parse_dirsync_control(ld, ctrl, more, cookie);
}

/// RFC 4533 refreshAndPersist through libldap's ldap_sync_* (ldap_sync.c). ldap_sync_destroy frees the search
/// parameters with ldap_memfree, so they are copied with libldap's allocator here; the cookie (opaque bytes from
/// an earlier session) likewise. The handle stays the caller's: it is detached before ldap_sync_destroy.
static inline int cldap_sync_start(ldap_sync_t *ls, LDAP *ld, const char *base, const char *filter,
                                   const char *cookie, ber_len_t cookie_length, int poll_seconds, void *context,
                                   ldap_sync_search_entry_f on_entry, ldap_sync_intermediate_f on_intermediate,
                                   ldap_sync_search_result_f on_result) {
    ldap_sync_initialize(ls);
    ls->ls_ld = ld;
    ls->ls_base = ber_strdup(base);
    ls->ls_scope = LDAP_SCOPE_SUBTREE;
    ls->ls_filter = ber_strdup(filter);
    ls->ls_attrs = ber_memcalloc(2, sizeof(char *));
    ls->ls_attrs[0] = ber_strdup(LDAP_NO_ATTRS);
    ls->ls_timeout = poll_seconds;
    ls->ls_private = context;
    ls->ls_search_entry = on_entry;
    ls->ls_intermediate = on_intermediate;
    ls->ls_search_result = on_result;
    if (cookie != NULL && cookie_length > 0) ber_mem2bv(cookie, cookie_length, 1, &ls->ls_cookie);
    return ldap_sync_init_refresh_and_persist(ls);
}

/// Frees what cldap_sync_start allocated, leaving the LDAP handle to its owner.
static inline void cldap_sync_release(ldap_sync_t *ls) {
    ls->ls_ld = NULL;
    ldap_sync_destroy(ls, 0);
}

/// TCP keepalive on the feed's idle connection, so a peer that vanished is noticed (LDAP_OPT_X_KEEPALIVE_*).
static inline void cldap_keepalive(LDAP *ld, int idle, int probes, int interval) {
    ldap_set_option(ld, LDAP_OPT_X_KEEPALIVE_IDLE, &idle);
    ldap_set_option(ld, LDAP_OPT_X_KEEPALIVE_PROBES, &probes);
    ldap_set_option(ld, LDAP_OPT_X_KEEPALIVE_INTERVAL, &interval);
}

/// The libldap this process runs with (LDAP_OPT_API_INFO): vendor version as major*10000 + minor*100 + patch.
static inline int cldap_vendor_version(void) {
    LDAPAPIInfo info;
    info.ldapai_info_version = LDAP_API_INFO_VERSION;
    if (ldap_get_option(NULL, LDAP_OPT_API_INFO, &info) != LDAP_OPT_SUCCESS) return -1;
    int version = info.ldapai_vendor_version;
    if (info.ldapai_vendor_name != NULL) ldap_memfree(info.ldapai_vendor_name);
    if (info.ldapai_extensions != NULL) ber_memvfree((void **)info.ldapai_extensions);
    return version;
}

/// libldap's TLS library (LDAP_OPT_X_TLS_PACKAGE: "GnuTLS" or "OpenSSL"); the caller frees with ldap_memfree.
static inline char *cldap_tls_package(void) {
    char *package = NULL;
    if (ldap_get_option(NULL, LDAP_OPT_X_TLS_PACKAGE, &package) != LDAP_OPT_SUCCESS) return NULL;
    return package;
}

#endif
