import Foundation
import Reconcile

/// A person built from what the IdP pushed, exactly as from an LDAP entry (docs/scim.md): `externalId` (else the
/// bridge's `id`) is the anchor; the work email (else the primary, else the first, else a `userName` that is an
/// address) the email; `name`, `displayName`, `title` and the enterprise extension's `organization` and
/// `department` the profile; the groups by `displayName` (what `[[roles]]` name); `active: false` and a delete are
/// leaver evidence.
public enum PersonBuilder {
    public struct Built: Sendable {
        public var people: [Person]
        public var groups: [DirectoryGroup]
        public var problems: [SnapshotProblem]
    }

    public static func build(users: [SCIMStored], groups: [SCIMStored], members: [(group: String, user: String)]) -> Built {
        var names: [String: String] = [:]
        for g in groups where !g.deleted { names[g.id] = g.attributes["displayName"]?.string ?? g.name }
        var groupsOf: [String: [GroupMembership]] = [:]
        var counts: [String: Int] = [:]
        for m in members {
            guard let name = names[m.group] else { continue }
            groupsOf[m.user, default: []].append(GroupMembership(dn: name))
            counts[m.group, default: 0] += 1
        }
        var people: [Person] = []
        var problems: [SnapshotProblem] = []
        for u in users {
            let p = person(u, groups: (groupsOf[u.id] ?? []).sorted { $0.dn < $1.dn })
            if p.email == nil { problems.append(.missingEmail(dn: p.dn)) }
            people.append(p)
        }
        let directoryGroups = groups.filter { !$0.deleted }.map { DirectoryGroup(dn: names[$0.id]!, directMembers: counts[$0.id] ?? 0) }
        return Built(people: people, groups: directoryGroups, problems: problems)
    }

    public static func person(_ u: SCIMStored, groups: [GroupMembership]) -> Person {
        let a = JSON.object(u.attributes)
        let name = a["name"]
        let given = name?["givenName"]?.string
        let family = name?["familyName"]?.string
        let joined = [given, family].compactMap { $0 }.joined(separator: " ")
        let full = name?["formatted"]?.string ?? a["displayName"]?.string ?? (joined.isEmpty ? nil : joined)
        let enterprise = a[SCIMSchema.enterpriseUser]
        var evidence: [LeaverEvidence] = []
        if u.deleted { evidence.append(.scimDeleted) }
        if a["active"]?.bool == false { evidence.append(.scimInactive) }
        return Person(anchor: u.externalId ?? u.id, dn: "scim:/Users/\(u.id)", email: email(a), givenName: given,
                      surname: family, fullName: full, jobTitle: a["title"]?.string,
                      company: enterprise?["organization"]?.string, department: enterprise?["department"]?.string,
                      uid: a["userName"]?.string, groups: groups, leaverEvidence: evidence, rules: ["scim"])
    }

    static func email(_ a: JSON) -> String? {
        let emails = a["emails"]?.array ?? []
        let pick = emails.first { $0["type"]?.string?.lowercased() == "work" }
            ?? emails.first { $0["primary"]?.bool == true } ?? emails.first
        if let v = pick?["value"]?.string, let e = EmailAddress.normalize(v) { return e }
        if let userName = a["userName"]?.string, userName.contains("@") { return EmailAddress.normalize(userName) }
        return nil
    }
}
