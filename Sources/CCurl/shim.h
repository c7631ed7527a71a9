// The one C header of the CCurl module: libcurl, plus typed wrappers for its variadic calls, which
// Swift cannot import. One wrapper per argument type, so Swift never passes the wrong C type.
#ifndef MIXER_SYNC_CCURL_SHIM_H
#define MIXER_SYNC_CCURL_SHIM_H

#include <curl/curl.h>

/// curl_easy_setopt is variadic; integer options require a C `long`.
static inline CURLcode ccurl_setopt_long(CURL *handle, CURLoption option, long value) {
    return curl_easy_setopt(handle, option, value);
}

/// String options; libcurl copies them (except CURLOPT_POSTFIELDS, which we never use).
static inline CURLcode ccurl_setopt_string(CURL *handle, CURLoption option, const char *value) {
    return curl_easy_setopt(handle, option, value);
}

/// Pointer options (WRITEDATA, HEADERDATA, READDATA, ERRORBUFFER).
static inline CURLcode ccurl_setopt_pointer(CURL *handle, CURLoption option, void *value) {
    return curl_easy_setopt(handle, option, value);
}

/// Header lists; libcurl does not copy them: the caller keeps the list alive for the transfer.
static inline CURLcode ccurl_setopt_slist(CURL *handle, CURLoption option, struct curl_slist *value) {
    return curl_easy_setopt(handle, option, value);
}

/// Large (curl_off_t) options such as CURLOPT_POSTFIELDSIZE_LARGE.
static inline CURLcode ccurl_setopt_off(CURL *handle, CURLoption option, curl_off_t value) {
    return curl_easy_setopt(handle, option, value);
}

/// Write and header callbacks share the curl_write_callback signature.
static inline CURLcode ccurl_setopt_write_callback(CURL *handle, CURLoption option, curl_write_callback callback) {
    return curl_easy_setopt(handle, option, callback);
}

/// curl_easy_getinfo is variadic: a long result (CURLINFO_RESPONSE_CODE).
static inline CURLcode ccurl_getinfo_long(CURL *handle, CURLINFO info, long *value) {
    return curl_easy_getinfo(handle, info, value);
}

/// curl_easy_getinfo for a string result (CURLINFO_EFFECTIVE_URL); the string belongs to the handle.
static inline CURLcode ccurl_getinfo_string(CURL *handle, CURLINFO info, char **value) {
    return curl_easy_getinfo(handle, info, value);
}

/// curl_easy_getinfo for a list result (CURLINFO_COOKIELIST); free with curl_slist_free_all.
static inline CURLcode ccurl_getinfo_slist(CURL *handle, CURLINFO info, struct curl_slist **value) {
    return curl_easy_getinfo(handle, info, value);
}

/// curl_easy_getinfo for a double result (CURLINFO_TOTAL_TIME).
static inline CURLcode ccurl_getinfo_double(CURL *handle, CURLINFO info, double *value) {
    return curl_easy_getinfo(handle, info, value);
}

/// CURLVERSION_NOW is a macro naming the newest struct version this header knows: it does not import.
static inline curl_version_info_data *ccurl_version_info(void) {
    return curl_version_info(CURLVERSION_NOW);
}

/// Reads the multi handle's messages; returns 1 and the transfer's result when a transfer is done (mixer-sync runs
/// one transfer per multi handle), 0 otherwise. CURLMsg's result sits in a C union.
static inline int ccurl_multi_done(CURLM *multi, CURLcode *result) {
    int queued = 0;
    CURLMsg *message;
    while ((message = curl_multi_info_read(multi, &queued)) != NULL) {
        if (message->msg == CURLMSG_DONE) {
            *result = message->data.result;
            return 1;
        }
    }
    return 0;
}

#endif
