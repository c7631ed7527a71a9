import Foundation
import Reconcile
import State

// The journal's cycle for one change — intent (planned), sent, confirmed: three committed writes — timed on the
// SQLite state and on the PostgreSQL state (fenced by a lease, as a leader of a pair writes), for
// Benchmarks/failover.sh. usage: state-bench CYCLES SQLITE-DIR POSTGRES-URL PASSWORD-FILE
let args = CommandLine.arguments
guard args.count == 5, let cycles = Int(args[1]), cycles > 0 else {
    FileHandle.standardError.write(Data("usage: state-bench CYCLES SQLITE-DIR POSTGRES-URL PASSWORD-FILE\n".utf8))
    exit(2)
}

func timeCycles(_ store: StateStore, _ label: String) throws -> Double {
    let now = Date()
    let warmup = 20
    var started = ContinuousClock.now
    for i in 0..<(cycles + warmup) {
        if i == warmup { started = .now }
        let change = Change(kind: .deactivate, anchor: "a\(i)", email: "p\(i)@example.com", dn: nil, mixerUserId: "u\(i)",
                            from: AccountState(active: true, role: .editor, brands: ["Brand A": .editor]),
                            to: AccountState(active: false, role: .viewer, brands: [:]), reasons: ["bench"])
        let id = try store.journalBegin(runId: "bench", planHash: "h", change: change, step: "deactivate", at: now)
        try store.journalMark(id, status: .sent, at: now)
        try store.journalMark(id, status: .confirmed, at: now)
    }
    let elapsed = ContinuousClock.now - started
    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    let rate = Double(cycles) / seconds
    print("\(label): \(cycles) intent → sent → confirmed cycles in \(String(format: "%.2f", seconds)) s")
    return rate
}

do {
    let sqlite = try StateStore(directory: args[2])
    let sqliteRate = try timeCycles(sqlite, "sqlite")
    let password = try String(contentsOfFile: args[4], encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
    let pg = try StateStore(postgres: try PostgresSettings(url: args[3], password: password))
    let lease = try pg.acquireLease(holder: "state-bench", host: "bench", duration: 60)
    pg.fence(holder: "state-bench", epoch: lease.epoch)
    let pgRate = try timeCycles(pg, "postgresql (fenced)")
    try pg.releaseLease(holder: "state-bench")
    print("state ops/s sqlite: \(Int(sqliteRate)), postgresql: \(Int(pgRate))")
} catch {
    FileHandle.standardError.write(Data("state-bench: \(error)\n".utf8))
    exit(1)
}
