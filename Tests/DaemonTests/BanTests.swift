import Daemon
import Foundation
import Reconcile
import Report
import State
import Testing

/// `[supabase]` bans (docs/revocation.md) through the pipeline with a fake GoTrue: the ban goes first and outside
/// MixerAI's budget, a held plan bans no one, a reactivation lifts it, a lost answer is read back, and every
/// offboarding says the truth about sign-in.
@Suite struct BanTests {
    @Test func leaverIsBannedAtOnceWhileMixerAIsBudgetIsExhausted() async throws {
        let h = try Harness(accounts: [Harness.account("bob", role: .editor), Harness.account("eve", role: .editor)], bans: true)
        defer { h.cleanUp() }
        h.directory.people = ["bob", "eve"].map { FakeDirectory.person($0, groups: [Harness.editors]) }
        #expect(await h.reconciler().apply().exitCode == 0)
        await h.mixerai.exhaustBudget(resetIn: 3600)
        h.directory.people[0] = FakeDirectory.person("bob", groups: [Harness.editors], leaver: true)
        let outcome = await h.reconciler().apply()
        #expect(outcome.exitCode == 4, "the MixerAI writes wait for the window: \(outcome.report.errors)")
        let bob = try #require(outcome.report.changes.first)
        #expect(bob.kind == "deactivate" && bob.status == .escrow)
        #expect(bob.signIn?.hasPrefix("banned until ") == true, "\(bob.signIn ?? "nil")")
        #expect(await h.revoker.calls == ["ban u-bob"])
        #expect(await h.mixerai.writes(matching: "deactivate").isEmpty, "no MixerAI write beyond the budget")
        #expect(outcome.report.audit?.deactivationDoesNotRevoke == false)
        // The window opens: deactivation and strip follow, the ban is not sent twice.
        await h.mixerai.resetBudget()
        let later = await h.reconciler().apply()
        #expect(later.exitCode == 0, "\(later.report.errors)")
        #expect(await h.mixerai.writes(matching: "deactivate") == ["deactivate u-bob"])
        #expect(await h.revoker.calls == ["ban u-bob"])
        let intents = try h.store.intents(runId: outcome.report.runId).filter { $0.step == "ban" }
        #expect(intents.map(\.status) == [.confirmed], "journaled like every write")
    }

    @Test func heldPlanBansNoOne() async throws {
        let names = (1...8).map { "p\($0)" }
        let h = try Harness(accounts: names.map { Harness.account($0, role: .editor) }, maxDeactivations: 2, bans: true)
        defer { h.cleanUp() }
        h.directory.people = names.map { FakeDirectory.person($0, groups: [Harness.editors]) }
        #expect(await h.reconciler().apply().exitCode == 0)
        h.directory.people = names.enumerated().map { i, n in FakeDirectory.person(n, groups: [Harness.editors], leaver: i < 3) }
        let held = await h.reconciler().apply()
        #expect(held.exitCode == 3)
        #expect(await h.revoker.calls.isEmpty, "a held plan bans no one")
        #expect(held.report.changes.allSatisfy { $0.signIn == "still possible: not applied, nothing banned" })
        #expect(held.report.audit?.deactivationDoesNotRevoke == true)
        // Approved: exactly the held offboardings are banned.
        _ = try h.store.approve(planHash: try #require(held.report.planHash), at: Date())
        let released = await h.reconciler().apply()
        #expect(released.exitCode == 0, "\(released.report.errors)")
        #expect(Set(await h.revoker.calls) == ["ban u-p1", "ban u-p2", "ban u-p3"])
    }

    @Test func reactivationLiftsTheBanBeforeRestoringRoles() async throws {
        let h = try Harness(accounts: [Harness.account("cy", role: .editor), Harness.account("zed", role: .editor)], bans: true)
        defer { h.cleanUp() }
        h.directory.people = [FakeDirectory.person("cy", groups: [Harness.editors]), FakeDirectory.person("zed", groups: [Harness.editors])]
        #expect(await h.reconciler().apply().exitCode == 0)
        h.directory.people = [FakeDirectory.person("cy", groups: [Harness.editors], leaver: true), FakeDirectory.person("zed", groups: [Harness.editors])]
        #expect(await h.reconciler().apply().exitCode == 0)
        #expect(await h.revoker.bannedUntil["u-cy"] != nil)
        h.directory.people = [FakeDirectory.person("cy", groups: [Harness.editors]), FakeDirectory.person("zed", groups: [Harness.editors])]
        let back = await h.reconciler().apply()
        #expect(back.exitCode == 0 && back.report.changes.map(\.kind) == ["reactivate"], "\(back.report.errors)")
        #expect(await h.revoker.calls == ["ban u-cy", "lift u-cy"])
        #expect(await h.revoker.bannedUntil["u-cy"] == nil)
        #expect(try h.store.ban(userId: "u-cy", now: Date()) == nil)
    }

    @Test func aLostBanAnswerIsReadBackNotSentAgain() async throws {
        let h = try Harness(accounts: [Harness.account("dee", role: .editor), Harness.account("zed", role: .editor)], bans: true)
        defer { h.cleanUp() }
        h.directory.people = [FakeDirectory.person("dee", groups: [Harness.editors]), FakeDirectory.person("zed", groups: [Harness.editors])]
        #expect(await h.reconciler().apply().exitCode == 0)
        await h.revoker.setLoseNextAnswer()
        h.directory.people = [FakeDirectory.person("dee", groups: [Harness.editors], leaver: true), FakeDirectory.person("zed", groups: [Harness.editors])]
        let outcome = await h.reconciler().apply()
        #expect(outcome.exitCode == 0, "\(outcome.report.errors)")
        #expect(outcome.report.changes.first?.signIn?.hasPrefix("banned until ") == true)
        #expect(await h.revoker.calls == ["ban u-dee"])
    }

    @Test func aWrongKeyStopsTheRunBeforeAnythingIsHalfDone() async throws {
        let h = try Harness(accounts: [Harness.account("fay", role: .editor), Harness.account("zed", role: .editor)], bans: true)
        defer { h.cleanUp() }
        h.directory.people = [FakeDirectory.person("fay", groups: [Harness.editors]), FakeDirectory.person("zed", groups: [Harness.editors])]
        #expect(await h.reconciler().apply().exitCode == 0)
        await h.revoker.setRefuseAll()
        h.directory.people = [FakeDirectory.person("fay", groups: [Harness.editors], leaver: true), FakeDirectory.person("zed", groups: [Harness.editors])]
        let outcome = await h.reconciler().apply()
        #expect(outcome.exitCode == 1 && outcome.report.outcome == .error)
        #expect(outcome.report.errors.first?.contains("service-role-key") == true, "names the file: \(outcome.report.errors)")
        #expect(outcome.report.changes.map(\.kind) == ["deactivate"], "the plan is otherwise unchanged")
        #expect(await h.mixerai.writes(matching: "deactivate").isEmpty)
    }

    @Test func withoutTheSectionEveryOffboardingSaysSignInIsStillPossible() async throws {
        let h = try Harness(accounts: [Harness.account("gil", role: .editor), Harness.account("zed", role: .editor)])
        defer { h.cleanUp() }
        h.directory.people = [FakeDirectory.person("gil", groups: [Harness.editors]), FakeDirectory.person("zed", groups: [Harness.editors])]
        #expect(await h.reconciler().apply().exitCode == 0)
        h.directory.people = [FakeDirectory.person("gil", groups: [Harness.editors], leaver: true), FakeDirectory.person("zed", groups: [Harness.editors])]
        let outcome = await h.reconciler().apply()
        #expect(outcome.report.changes.first?.signIn == "still possible (no [supabase] section)")
        #expect(outcome.report.audit?.deactivationDoesNotRevoke == true)
        #expect(await h.revoker.calls.isEmpty)
    }

    @Test func theFastPathBansThroughTheDrainerWithTheBudgetSpent() async throws {
        let h = try Harness(accounts: ["gus", "hal", "ivy"].map { Harness.account($0, role: .editor) }, bans: true)
        defer { h.cleanUp() }
        h.directory.people = ["gus", "hal", "ivy"].map { FakeDirectory.person($0, groups: [Harness.editors]) }
        try await FastPathTests().withDrainer(h) { drainer in
            await h.mixerai.exhaustBudget(resetIn: 3600)
            h.directory.people[1] = FakeDirectory.person("hal", groups: [Harness.editors], leaver: true)
            let outcome = try #require(await h.reconciler().restrict(seenAt: Date(), drainer: drainer))
            #expect(outcome.exitCode == 0, "\(outcome.report.errors)")
            // Banned by GoTrue, then recorded in the state (a moment later: wait for both).
            for _ in 0..<500 where try h.store.ban(userId: "u-hal", now: Date()) == nil { try await Task.sleep(for: .milliseconds(10)) }
            #expect(await h.revoker.calls == ["ban u-hal"])
            #expect(await h.mixerai.writes(matching: "deactivate").isEmpty, "MixerAI's writes wait for the window")
            #expect(try h.store.ban(userId: "u-hal", now: Date()) != nil)
        }
    }

    @Test func fixAppMetadataCorrectsAnAppAdminTheDirectoryNoLongerGrantsOnlyWhenAsked() async throws {
        var hal = Harness.account("hal", role: .editor)
        hal.appAdmin = true
        for fix in [false, true] {
            let h = try Harness(accounts: [hal, Harness.account("zed", role: .editor)], bans: true, fixAppMetadata: fix)
            defer { h.cleanUp() }
            h.directory.people = ["hal", "zed"].map { FakeDirectory.person($0, groups: [Harness.editors]) }
            let outcome = await h.reconciler().apply()
            #expect(outcome.exitCode == 0, "\(outcome.report.errors)")
            let action = try #require(outcome.report.manualActions.first { $0.kind == "app_metadata_admin" })
            if fix {
                #expect(await h.revoker.calls == ["app_metadata u-hal editor"])
                #expect(action.reason.hasPrefix("corrected by mixer-sync: app_metadata.global_role set to editor"))
                #expect(try h.store.intents(runId: outcome.report.runId).filter { $0.step == "app-metadata" }.map(\.status) == [.confirmed])
            } else {
                #expect(await h.revoker.calls.isEmpty, "the default is the manual action")
                #expect(action.reason.contains("remove it in Supabase"))
            }
        }
    }

    @Test func aBanNeverWaitsBehindAMixerAIWriteThatWaitsOutTheWindow() async throws {
        let names = ["ka", "kb", "kc", "kd"]
        let h = try Harness(accounts: names.map { Harness.account($0, role: .editor) }, bans: true)
        defer { h.cleanUp() }
        h.directory.people = names.map { FakeDirectory.person($0, groups: [Harness.editors]) }
        try await FastPathTests().withDrainer(h) { drainer in
            // The first leaver's deactivation hangs in its call (a 429 whose Retry-After is an hour away).
            await h.mixerai.stallDeactivations(.seconds(4))
            h.directory.people[0] = FakeDirectory.person("ka", groups: [Harness.editors], leaver: true)
            _ = await h.reconciler().restrict(seenAt: Date(), drainer: drainer)
            for _ in 0..<200 where await h.revoker.bannedUntil["u-ka"] == nil { try await Task.sleep(for: .milliseconds(10)) }
            try await Task.sleep(for: .milliseconds(100))  // the drainer is now inside the stalled deactivation
            h.directory.people[1] = FakeDirectory.person("kb", groups: [Harness.editors], leaver: true)
            _ = await h.reconciler().restrict(seenAt: Date(), drainer: drainer)
            for _ in 0..<200 where await h.revoker.bannedUntil["u-kb"] == nil { try await Task.sleep(for: .milliseconds(10)) }
            #expect(await h.revoker.bannedUntil["u-kb"] != nil, "banned while the first write still waits")
            #expect(await h.mixerai.writes(matching: "deactivate").isEmpty, "the first write is still waiting")
            #expect(await h.revoker.calls == ["ban u-ka", "ban u-kb"])
            await h.mixerai.stallDeactivations(.zero)
        }
    }
}
