import Foundation
import GRDB

/// The embedded default: `state.sqlite` under the state directory (WAL, synchronous FULL), through GRDB.
final class SQLiteDatabase: StateDatabase {
    let queue: DatabaseQueue
    let location: String
    var dialect: SQLDialect { .sqlite }

    init(queue: DatabaseQueue, location: String) {
        self.queue = queue
        self.location = location
    }

    func write<T>(_ body: (any SQLTransaction) throws -> T) throws -> T {
        try withoutActuallyEscaping(body) { body in try queue.write { db in try body(Transaction(db: db)) } }
    }

    func read<T>(_ body: (any SQLTransaction) throws -> T) throws -> T {
        try withoutActuallyEscaping(body) { body in try queue.read { db in try body(Transaction(db: db)) } }
    }

    struct Transaction: SQLTransaction {
        let db: Database

        func execute(_ sql: String, _ arguments: [any SQLBindable]) throws {
            try db.execute(sql: sql, arguments: Self.arguments(arguments))
        }

        func rows(_ sql: String, _ arguments: [any SQLBindable]) throws -> [SQLRow] {
            try Row.fetchAll(db, sql: sql, arguments: Self.arguments(arguments)).map { row in
                var values: [String: SQLValue] = [:]
                for (column, value) in row {
                    switch value.storage {
                    case .null: values[column] = .null
                    case .int64(let i): values[column] = .int(i)
                    case .double(let d): values[column] = .double(d)
                    case .string(let s): values[column] = .text(s)
                    case .blob(let b): values[column] = .blob(Array(b))
                    }
                }
                return SQLRow(values)
            }
        }

        static func arguments(_ values: [any SQLBindable]) -> StatementArguments {
            StatementArguments(values.map { value -> (any DatabaseValueConvertible)? in
                switch value.sqlValue {
                case .null: return nil
                case .int(let i): return i
                case .double(let d): return d
                case .text(let s): return s
                case .blob(let b): return Data(b)
                }
            })
        }
    }
}
