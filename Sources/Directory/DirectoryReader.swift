import Foundation
import LDAPClient
import Reconcile
import Secrets

/// Reads the whole directory into a `DirectorySnapshot`, or fails: a partial read is never returned.
///
/// Searches, in order, on one connection: the groups (so members can be resolved as users stream in),
/// the `disabled_filter` matches per rule, every user rule, then the leavers base. Every search is paged
/// and must end in `success` with an empty cookie; the whole read has a deadline.
public struct DirectoryReader: Sendable {
    public let settings: DirectorySettings
    /// The resolved path of the bind password file (already looked up in `$CREDENTIALS_DIRECTORY`).
    public let passwordFile: String?
    private let worker: LDAPWorker

    public init(settings: DirectorySettings, passwordFile: String?, worker: LDAPWorker = LDAPWorker()) {
        self.settings = settings
        self.passwordFile = passwordFile
        self.worker = worker
    }

    /// The searches a read makes, named as in reports (rule names, `groups`, `disabled:<rule>`, `leavers_base`).
    public func plannedSearches(onlyRule: String? = nil) -> [(name: String, request: SearchRequest)] {
        let mapper = PersonMapper(map: settings.attributes, accountLock: settings.leavers.accountLock, nowUnixSeconds: 0)
        let rules = settings.users.filter { onlyRule == nil || $0.name == onlyRule }
        var searches: [(String, SearchRequest)] = []
        if let groups = settings.groups {
            searches.append(("groups", SearchRequest(base: groups.base, scope: groups.scope,
                                                     filter: LDAPFilter.normalized(groups.filter),
                                                     attributes: GroupIndex.attributes(for: settings.flavor))))
        }
        if let disabled = settings.leavers.disabledFilter {
            for rule in rules {
                let filter = LDAPFilter.and([LDAPFilter.normalized(rule.filter), LDAPFilter.normalized(disabled)])
                searches.append(("disabled:\(rule.name)", SearchRequest(
                    base: rule.base, scope: rule.scope, filter: filter,
                    attributes: [AttributeRequest(settings.attributes.anchor, binary: settings.attributes.anchorIsBinary)])))
            }
        }
        // The leavers base is read with every user rule's filter, OR-ed.
        let anyUserRule = LDAPFilter.or(settings.users.map { LDAPFilter.normalized($0.filter) })
        if let disabled = settings.leavers.disabledFilter, let leaversBase = settings.leavers.leaversBase {
            // An entry under leavers_base may be disabled too: every piece of evidence is listed, not the first.
            let filter = LDAPFilter.and([anyUserRule, LDAPFilter.normalized(disabled)])
            searches.append(("disabled:leavers_base", SearchRequest(
                base: leaversBase, scope: .sub, filter: filter,
                attributes: [AttributeRequest(settings.attributes.anchor, binary: settings.attributes.anchorIsBinary)])))
        }
        for rule in rules {
            searches.append((rule.name, SearchRequest(base: rule.base, scope: rule.scope,
                                                      filter: LDAPFilter.normalized(rule.filter),
                                                      attributes: mapper.attributes)))
        }
        if let leaversBase = settings.leavers.leaversBase {
            searches.append(("leavers_base", SearchRequest(base: leaversBase, scope: .sub, filter: anyUserRule,
                                                           attributes: mapper.attributes)))
        }
        return searches
    }

    /// Reads the directory. `roleGroups` are checked for existence; `onlyRule` narrows the user rules
    /// (`test-query RULE`). Throws `SnapshotFailure` and nothing else.
    public func read(roleGroups: [String] = [], onlyRule: String? = nil, now: Date = Date()) async throws -> DirectorySnapshot {
        let settings = self.settings
        let passwordFile = self.passwordFile
        let searches = plannedSearches(onlyRule: onlyRule)
        let nowSeconds = Int64(now.timeIntervalSince1970)
        return try await worker.run {
            try Self.readNow(settings: settings, passwordFile: passwordFile, searches: searches,
                             roleGroups: roleGroups, nowSeconds: nowSeconds)
        }
    }

    // Runs on the LDAP worker's queue: the connection never leaves it.
    private static func readNow(settings: DirectorySettings, passwordFile: String?,
                                searches: [(name: String, request: SearchRequest)], roleGroups: [String],
                                nowSeconds: Int64) throws -> DirectorySnapshot {
        let started = ContinuousClock.now
        let deadline = started + settings.readDeadline
        let connection: LDAPConnection
        do {
            connection = try LDAPConnection(try connectionOptions(settings, passwordFile: passwordFile))
        } catch let error as LDAPError {
            throw SnapshotFailure(stage: .failed, message: error.description)
        } catch {
            throw SnapshotFailure(stage: .failed, message: "\(error)")
        }

        let mapper = PersonMapper(map: settings.attributes, accountLock: settings.leavers.accountLock,
                                  nowUnixSeconds: nowSeconds)
        var groups = GroupIndex(nested: settings.groups?.nested ?? true)
        var disabledAnchors = Set<String>()
        var people: [Person] = []
        // Anchor bytes → index in `people`, filled once a second person search starts.
        var anchors = MemberTable()
        var personSearchesDone = 0
        var problems: [SnapshotProblem] = []
        var records: [SearchRecord] = []
        var personEntries = 0
        var pages = 0
        var anyEntries = 0
        // Groups the server sent only part of (AD's ranged `member`): DN, slot, first value still to fetch.
        var ranged: [(dn: String, slot: Int, next: Int)] = []

        for (name, request) in searches {
            var missingAnchor: String?
            let rules = [name]
            let summary: SearchSummary
            do {
                summary = try connection.searchRaw(request, pageSize: settings.pageSize, deadline: deadline) { entry in
                    anyEntries += 1
                    if name == "groups" {
                        groups.add(entry)
                        for (slot, next) in entry.moreAfter { ranged.append((entry.dn, slot, next)) }
                    } else if name.hasPrefix("disabled:") {
                        if let anchor = mapper.anchorOnly(entry) { disabledAnchors.insert(anchor) }
                    } else {
                        switch mapper.map(entry, rules: rules) {
                        case .noAnchor(let dn):
                            if missingAnchor == nil { missingAnchor = dn }
                        case .person(var person, let entryProblems):
                            if disabledAnchors.contains(person.anchor) { person.leaverEvidence.append(.disabledFilter) }
                            if name == "leavers_base" { person.leaverEvidence.append(.leaversBase) }
                            // The first person search cannot repeat an entry; later ones are checked
                            // against everyone read so far (a second rule, or the leavers base).
                            if personSearchesDone > 0,
                               case let slot = Int(anchors.insert(Array(person.anchor.utf8))), slot < people.count {
                                merge(person, into: &people[slot])
                            } else {
                                person.groups = groups.memberships(dn: person.dn, uid: person.uid)
                                people.append(person)
                                problems.append(contentsOf: entryProblems)
                            }
                        }
                    }
                }
            } catch let error as LDAPError {
                let stage = Self.stage(of: error, entriesSoFar: anyEntries)
                throw SnapshotFailure(stage: stage, message: "search \(name): \(error.description)", searches: records,
                                      entriesRead: personEntries + (isPersonSearch(name) ? error.entriesBeforeFailure : 0),
                                      pagesRead: pages)
            }
            if name == "groups" {
                do {
                    pages += try Self.fetchRanges(ranged, into: &groups, connection: connection, deadline: deadline)
                } catch let error as LDAPError {
                    // A group read in part would make its other members look like leavers: the read is incomplete.
                    throw SnapshotFailure(stage: .incomplete, message: "ranged members of a group: \(error.description)",
                                          searches: records, entriesRead: personEntries, pagesRead: pages)
                }
                groups.finish()
            }
            if let dn = missingAnchor {
                throw SnapshotFailure(stage: .incomplete,
                                      message: "search \(name): entry \(dn) has no \(settings.attributes.anchor) (anchor attribute); "
                                        + "check the bind account can read it", searches: records,
                                      entriesRead: personEntries + summary.entries, pagesRead: pages + summary.pages)
            }
            if isPersonSearch(name) {
                personEntries += summary.entries
                if personSearchesDone == 0 {
                    anchors = MemberTable(capacity: people.count)
                    for person in people { _ = anchors.insert(Array(person.anchor.utf8)) }
                }
                personSearchesDone += 1
            }
            pages += summary.pages
            records.append(SearchRecord(name: name, base: request.base, scope: request.scope.rawValue,
                                        filter: request.filter, entries: summary.entries, pages: summary.pages,
                                        ldapsearch: LdapsearchCommand.render(settings: settings, url: connection.url,
                                                                             passwordFile: passwordFile, request: request)))
        }

        for group in roleGroups where settings.groups != nil && !groups.contains(group) {
            problems.append(.missingRoleGroup(dn: group))
        }
        problems.append(contentsOf: duplicateEmails(people))
        let elapsed = ContinuousClock.now - started
        let proof = CompletenessProof(server: connection.url, searches: records, entries: personEntries, pages: pages,
                                      durationMilliseconds: Int(elapsed.components.seconds * 1000
                                        + elapsed.components.attoseconds / 1_000_000_000_000_000))
        return DirectorySnapshot(people: people, groups: groups.groups, problems: problems, proof: proof)
    }

    /// Active Directory sends at most 1,500 values of `member` per entry (`member;range=0-1499`): the rest is
    /// fetched part by part with base searches for `member;range=N-*` until the server says `*`. Returns the
    /// number of searches made.
    static func fetchRanges(_ ranged: [(dn: String, slot: Int, next: Int)], into groups: inout GroupIndex,
                            connection: LDAPConnection, deadline: ContinuousClock.Instant) throws -> Int {
        var searches = 0
        for (dn, slot, first) in ranged {
            var next: Int? = first
            var guardCount = 0
            while let start = next {
                guardCount += 1
                guard guardCount < 100_000 else { throw LDAPError(code: .other, operation: .search, message: "endless ranged retrieval", base: dn) }
                let name = GroupIndex.attributes[slot].name
                let request = SearchRequest(base: dn, scope: .base, filter: "(objectClass=*)",
                                            attributes: [AttributeRequest("\(name);range=\(start)-*")])
                next = nil
                var got = 0
                _ = try connection.searchRaw(request, pageSize: 1, deadline: deadline) { entry in
                    got += entry.values[0].count
                    groups.addMore(entry, slot: slot, toGroup: dn)
                    next = entry.moreAfter[0]
                }
                searches += 1
                if got == 0 { next = nil }
            }
        }
        return searches
    }

    /// Partial answers, and failures after entries arrived, are `incomplete` (the gate holds); configuration and
    /// credential errors, and failures before anything was read, are `failed` (outcome error).
    static func stage(of error: LDAPError, entriesSoFar: Int) -> SnapshotFailure.Stage {
        switch error.kind {
        case .partial: return .incomplete
        case .configuration, .credentials: return .failed
        case .transient: return entriesSoFar + error.entriesBeforeFailure > 0 ? .incomplete : .failed
        }
    }

    private static func isPersonSearch(_ name: String) -> Bool {
        name != "groups" && !name.hasPrefix("disabled:")
    }

    /// The same entry found by a second rule (or under the leavers base): keep one person, union the facts.
    private static func merge(_ other: Person, into person: inout Person) {
        for rule in other.rules where !person.rules.contains(rule) { person.rules.append(rule) }
        for evidence in other.leaverEvidence where !person.leaverEvidence.contains(evidence) {
            person.leaverEvidence.append(evidence)
        }
        person.leaverEvidence.sort()
    }

    /// Emails held by more than one person, in email order, each with every DN that holds it.
    static func duplicateEmails(_ people: [Person]) -> [SnapshotProblem] {
        var table = MemberTable(capacity: people.count)
        var firstHolder: [Int] = []
        var duplicateSlots: [Int: [String]] = [:]
        for (index, person) in people.enumerated() {
            guard let email = person.email else { continue }
            let slot = Int(table.insert(Array(email.utf8)))
            if slot == firstHolder.count {
                firstHolder.append(index)
            } else {
                duplicateSlots[slot, default: [people[firstHolder[slot]].dn]].append(person.dn)
            }
        }
        return duplicateSlots.map { slot, dns in
            SnapshotProblem.duplicateEmail(email: people[firstHolder[slot]].email!, dns: dns)
        }.sorted { lhs, rhs in
            if case .duplicateEmail(let a, _) = lhs, case .duplicateEmail(let b, _) = rhs { return a < b }
            return false
        }
    }

    public static func connectionOptions(_ settings: DirectorySettings, passwordFile: String?) throws -> ConnectionOptions {
        let bind: LDAPBind
        switch settings.bindMethod {
        case .anonymous:
            bind = .anonymous
        case .saslExternal:
            bind = .saslExternal
        case .simple:
            guard let dn = settings.bindDN, let passwordFile else {
                throw SnapshotFailure(stage: .failed, message: "simple bind needs bind_dn and bind_password_file")
            }
            let secret: Secret
            do {
                secret = try SecretFile.read(passwordFile)
            } catch {
                throw SnapshotFailure(stage: .failed, message: "\(error)")
            }
            bind = .simple(dn: dn, password: LDAPPassword(secret.bytes))
        }
        return ConnectionOptions(urls: settings.urls, startTLS: settings.startTLS, tls: settings.tls, bind: bind,
                                 operationTimeout: settings.timeout)
    }
}
