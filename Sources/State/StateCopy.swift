import Foundation

/// `mixer-sync state migrate`: every row of every table from one state to another (SQLite → PostgreSQL, or back
/// for a retreat), into a target that must be empty; then both sides counted and hashed, table by table
/// (docs/high-availability.md). The lease is not copied: it belongs to the hosts, not the state.
public enum StateCopy {
    /// One table's figures on both sides after the copy.
    public struct Figure: Sendable, Equatable {
        public var table: String
        public var sourceRows: Int
        public var targetRows: Int
        public var sourceHash: String
        public var targetHash: String
        public var matches: Bool { sourceRows == targetRows && sourceHash == targetHash }
    }

    /// The tables, each with the column that orders it and whether that column is a generated id.
    static let tables: [(name: String, key: String, serial: Bool)] = [
        ("link", "anchor", false), ("ledger", "user_id", false), ("pending_grant", "user_id", false),
        ("journal", "id", true), ("gate_history", "id", true), ("approval", "plan_hash", false),
        ("snapshot", "run_id", false), ("deactivation", "id", true), ("run", "run_id", false),
        ("queue", "id", true), ("feed_cookie", "scope", false), ("ban", "user_id", false),
        ("scim_resource", "id", false), ("scim_member", "group_id, user_id", false), ("scim_request", "id", true),
    ]

    /// Copies `source` into `target` (which must hold no row) in one transaction on the target, then compares.
    public static func copy(from source: StateStore, to target: StateStore) throws -> [Figure] {
        let rows = try source.db.read { tx in
            try tables.map { t in try tx.rows("SELECT * FROM \(t.name) ORDER BY \(t.key)") }
        }
        try target.db.write { tx in
            for t in tables where try tx.exists("SELECT 1 FROM \(t.name) LIMIT 1") {
                throw StateError("the target state \(target.path) is not empty (table \(t.name) has rows): nothing was copied")
            }
            for (t, tableRows) in zip(tables, rows) {
                for row in tableRows {
                    let columns = row.values.keys.sorted()
                    let marks = Array(repeating: "?", count: columns.count).joined(separator: ", ")
                    try tx.execute("INSERT INTO \(t.name) (\(columns.joined(separator: ", "))) VALUES (\(marks))",
                                   columns.map { row.values[$0]! })
                }
                if t.serial && target.db.dialect == .postgresql {
                    // The next generated id follows the copied ones.
                    try tx.execute("SELECT setval(pg_get_serial_sequence('\(t.name)', 'id'), COALESCE((SELECT MAX(id) FROM \(t.name)), 0) + 1, false)")
                }
            }
        }
        let before = try figures(source)
        let after = try figures(target)
        return zip(before, after).map { a, b in
            Figure(table: a.table, sourceRows: a.rows, targetRows: b.rows, sourceHash: a.hash, targetHash: b.hash)
        }
    }

    /// Rows and a content hash per table: each row written canonically (columns by name, numbers by value, so
    /// SQLite's REAL and PostgreSQL's DOUBLE PRECISION agree), the rows sorted, hashed with FNV-1a 64.
    public static func figures(_ store: StateStore) throws -> [(table: String, rows: Int, hash: String)] {
        try store.db.read { tx in
            try tables.map { t in
                let lines = try tx.rows("SELECT * FROM \(t.name)").map(canonical).sorted()
                var hash: UInt64 = 0xcbf2_9ce4_8422_2325
                for line in lines {
                    for byte in line.utf8 + [0x0a] {
                        hash ^= UInt64(byte)
                        hash = hash &* 0x0000_0100_0000_01b3
                    }
                }
                return (t.name, lines.count, String(format: "%016llx", hash))
            }
        }
    }

    static func canonical(_ row: SQLRow) -> String {
        row.values.keys.sorted().map { column -> String in
            let value: String = switch row.values[column]! {
            case .null: "null"
            case .int(let i): "\(i)"
            case .double(let d): d == d.rounded() && abs(d) < 9e15 ? "\(Int64(d))" : "\(d)"
            case .text(let s): "t:" + s
            case .blob(let b): "b:" + b.map { String(format: "%02x", $0) }.joined()
            }
            return column + "=" + value
        }.joined(separator: "\u{1f}")
    }
}
