#!/usr/bin/env python3
"""Generates the LDIF of a sample directory for tests, the demo and benchmarks.

usage: gen-directory.py [--users N] [--suffix DC] [--no-specials] > data.ldif

The tree: ou=people (N regular users plus the special cases below), ou=leavers, ou=groups,
ou=services (the bind accounts), ou=policies (the ppolicy default). Deterministic: the same
arguments give the same LDIF. Special cases cover every kind of leaver evidence, duplicate and
missing emails, DNs that need escaping, nested groups with a cycle, and group names full of
filter metacharacters.
"""
import argparse
import sys

p = argparse.ArgumentParser()
p.add_argument("--users", type=int, default=2500)
p.add_argument("--suffix", default="dc=example,dc=com")
p.add_argument("--no-specials", action="store_true")
p.add_argument("--service-password", default="mixer-sync-test-password")
p.add_argument("--limited-password", default="limited-test-password")
args = p.parse_args()

S = args.suffix
PEOPLE = f"ou=people,{S}"
GROUPS = f"ou=groups,{S}"
out = sys.stdout
FIRST = ["Ann", "Ben", "Cara", "Dev", "Eve", "Finn", "Gus", "Hana", "Ivo", "Jia", "Kai", "Lea", "Max", "Nia", "Oto", "Pia"]
LAST = ["Lee", "Khan", "Novak", "Okafor", "Silva", "Berg", "Rossi", "Tanaka", "Moreau", "Dubois", "Kowalski", "Ng"]
TITLES = ["Engineer", "Designer", "Writer", "Analyst", "Manager", "Producer"]
DEPTS = ["Content", "Marketing", "Legal", "Brand", "Sales", "IT"]


def entry(dn, *lines):
    out.write(f"dn: {dn}\n")
    for line in lines:
        out.write(line + "\n")
    out.write("\n")


def uid(i):
    return f"user{i:05d}" if args.users < 100000 else f"user{i:06d}"


def user_dn(i):
    return f"uid={uid(i)},{PEOPLE}"


def person(dn, u, given, sn, mail=None, extra=()):
    extra = list(extra)
    lines = ["objectClass: inetOrgPerson"] + [x for x in extra if x.startswith("objectClass:")]
    lines += [f"uid: {u}", f"cn: {given} {sn}"] + [x for x in extra if x.startswith("cn:")]
    lines += [f"givenName: {given}", f"sn: {sn}"]
    if mail is not None:
        lines.append(f"mail: {mail}")
    lines += [x for x in extra if not x.startswith("objectClass:") and not x.startswith("cn:")]
    entry(dn, *lines)


entry(S, "objectClass: dcObject", "objectClass: organization", f"dc: {S.split(',')[0].split('=')[1]}", "o: Example")
for ou in ["people", "leavers", "groups", "services", "policies"]:
    entry(f"ou={ou},{S}", "objectClass: organizationalUnit", f"ou: {ou}")
if not args.no_specials:
    # A subtree that holds a referral: searching it must fail, never return "fewer people".
    entry(f"ou=partners,{S}", "objectClass: organizationalUnit", "ou: partners")


entry(f"cn=mixer-sync,ou=services,{S}", "objectClass: organizationalRole", "objectClass: simpleSecurityObject",
      "cn: mixer-sync", f"userPassword: {args.service_password}")
entry(f"cn=limited,ou=services,{S}", "objectClass: organizationalRole", "objectClass: simpleSecurityObject",
      "cn: limited", f"userPassword: {args.limited_password}")
entry(f"cn=default,ou=policies,{S}", "objectClass: organizationalRole", "objectClass: pwdPolicy", "cn: default",
      "pwdAttribute: userPassword", "pwdLockout: TRUE", "pwdMaxFailure: 5")

for i in range(1, args.users + 1):
    g = FIRST[i % len(FIRST)]
    s = LAST[(i // len(FIRST)) % len(LAST)]
    person(user_dn(i), uid(i), g, s, f"{uid(i)}@example.com",
           [f"title: {TITLES[i % len(TITLES)]}", "o: Example Ltd", f"departmentNumber: {DEPTS[i % len(DEPTS)]}"])

if not args.no_specials:
    person(f"uid=partner01,ou=partners,{S}", "partner01", "Pat", "Ner", "partner01@example.com")
    entry(f"ou=remote,ou=partners,{S}", "objectClass: referral", "objectClass: extensibleObject", "ou: remote",
          "ref: ldap://ldap.partner.invalid/ou=people,dc=partner,dc=invalid")
    person(f"uid=term01,{PEOPLE}", "term01", "Terry", "Minated", "term01@example.com", ["employeeType: terminated"])
    person(f"uid=locked01,{PEOPLE}", "locked01", "Lockie", "Ppolicy", "locked01@example.com",
           ["pwdAccountLockedTime: 000001010000Z"])
    person(f"uid=nslock01,{PEOPLE}", "nslock01", "Nils", "Lock", "nslock01@example.com",
           ["objectClass: mixerTestAccount", "nsAccountLock: TRUE"])
    person(f"uid=uac01,{PEOPLE}", "uac01", "Uma", "Control", "uac01@example.com",
           ["objectClass: mixerTestAccount", "userAccountControl: 514"])
    person(f"uid=expired01,{PEOPLE}", "expired01", "Ezra", "Pired", "expired01@example.com",
           ["objectClass: mixerTestAccount", "accountExpires: 130000000000000000"])
    person(f"uid=neverexp01,{PEOPLE}", "neverexp01", "Neve", "Rexpires", "neverexp01@example.com",
           ["objectClass: mixerTestAccount", "accountExpires: 9223372036854775807", "userAccountControl: 512"])
    person(f"uid=dup-a,{PEOPLE}", "dup-a", "Dee", "Upa", "Dup@Example.com")
    person(f"uid=dup-b,{PEOPLE}", "dup-b", "Dee", "Upb", " dup@example.COM")
    person(f"uid=nomail01,{PEOPLE}", "nomail01", "Noel", "Mail", None)
    person(f"cn=Smith\\, John,{PEOPLE}", "jsmith", "John", "Smith", "john.smith@example.com", ["cn: Smith, John"])
    for n in (1, 2, 3):
        person(f"uid=gone0{n},ou=leavers,{S}", f"gone0{n}", "Gone", f"Away{n}", f"gone0{n}@example.com")

    def group(cn_escaped, members, oc="groupOfNames", attr="member"):
        entry(f"cn={cn_escaped},{GROUPS}", f"objectClass: {oc}", f"cn: {cn_escaped}", *(f"{attr}: {m}" for m in members))

    def b64(dn, value, members):
        import base64
        out.write("dn:: " + base64.b64encode(f"{dn},{GROUPS}".encode()).decode() + "\n")
        out.write("objectClass: groupOfNames\n")
        out.write("cn:: " + base64.b64encode(value.encode()).decode() + "\n")
        for m in members:
            out.write(f"member: {m}\n")
        out.write("\n")

    group("mixerai-admins", [user_dn(1), user_dn(2)])
    group("content-leads", [user_dn(i) for i in range(10, 20)])
    group("brand-a-editors", [f"cn=content-leads,{GROUPS}", user_dn(20)])
    group("all-editors", [f"cn=brand-a-editors,{GROUPS}"])
    group("cycle-a", [f"cn=cycle-b,{GROUPS}", user_dn(30)])
    group("cycle-b", [f"cn=cycle-a,{GROUPS}", user_dn(31)])
    entry(f"cn=reviewers,{GROUPS}", "objectClass: groupOfUniqueNames", "cn: reviewers",
          f"uniqueMember: {user_dn(40)}", f"uniqueMember: {user_dn(41)}#'0101'B")
    entry(f"cn=viewers,{GROUPS}", "objectClass: posixGroup", "cn: viewers", "gidNumber: 5000",
          "memberUid: user00050", "memberUid: user00051")
    b64("cn=*)(uid=*", "*)(uid=*", [user_dn(60)])
    b64("cn=R&D (Europe) \\5C", "R&D (Europe) \\", [user_dn(61)])
    b64("cn=R&D\\2C Europe (*)\\5C", "R&D, Europe (*)\\", [user_dn(62)])
    group("smith-group", [f"cn=Smith\\2C John,OU=People,{S.upper()}"])
    group("leavers-group", [f"uid=gone01,ou=leavers,{S}", user_dn(3)])
    entry(f"cn=all-staff,{GROUPS}", "objectClass: groupOfNames", "cn: all-staff",
          *(f"member: {user_dn(i)}" for i in range(1, args.users + 1)))
else:
    entry(f"cn=mixerai-admins,{GROUPS}", "objectClass: groupOfNames", "cn: mixerai-admins", f"member: {user_dn(1)}")
    entry(f"cn=all-staff,{GROUPS}", "objectClass: groupOfNames", "cn: all-staff",
          *(f"member: {user_dn(i)}" for i in range(1, args.users + 1)))
    for d in range(len(DEPTS)):
        entry(f"cn=dept-{DEPTS[d].lower()},{GROUPS}", "objectClass: groupOfNames", f"cn: dept-{DEPTS[d].lower()}",
              *(f"member: {user_dn(i)}" for i in range(1, args.users + 1) if i % len(DEPTS) == d))
