import Foundation

/// A value bound to or read from a statement, the same for SQLite and PostgreSQL: the State module's SQL is written
/// once against these (docs/state.md).
public enum SQLValue: Sendable, Equatable {
    case null
    case int(Int64)
    case double(Double)
    case text(String)
    case blob([UInt8])
}

/// What can be bound to a statement's `?`.
public protocol SQLBindable: Sendable {
    var sqlValue: SQLValue { get }
}

extension String: SQLBindable { public var sqlValue: SQLValue { .text(self) } }
extension Int: SQLBindable { public var sqlValue: SQLValue { .int(Int64(self)) } }
extension Int64: SQLBindable { public var sqlValue: SQLValue { .int(self) } }
extension Double: SQLBindable { public var sqlValue: SQLValue { .double(self) } }
/// Booleans are stored as 0 / 1 on both backends (one schema, one set of statements).
extension Bool: SQLBindable { public var sqlValue: SQLValue { .int(self ? 1 : 0) } }
/// Times are seconds since 1970 (REAL / DOUBLE PRECISION): ordered, exact to the microsecond, clock-free.
extension Date: SQLBindable { public var sqlValue: SQLValue { .double(timeIntervalSince1970) } }
extension Array: SQLBindable where Element == UInt8 { public var sqlValue: SQLValue { .blob(self) } }
extension SQLValue: SQLBindable { public var sqlValue: SQLValue { self } }
extension Optional: SQLBindable where Wrapped: SQLBindable {
    public var sqlValue: SQLValue { self?.sqlValue ?? .null }
}

/// One result row by column name.
public struct SQLRow: Sendable {
    let values: [String: SQLValue]

    init(_ values: [String: SQLValue]) { self.values = values }

    private func value(_ column: String) throws -> SQLValue {
        guard let v = values[column] else { throw StateError("the state has no column \(column)") }
        return v
    }

    private func required<T>(_ column: String, _ v: T?) throws -> T {
        guard let v else { throw StateError("the state's column \(column) is empty or of the wrong type") }
        return v
    }

    public func text(_ column: String) throws -> String { try required(column, textOrNil(column)) }
    public func textOrNil(_ column: String) throws -> String? {
        switch try value(column) {
        case .text(let s): return s
        case .int(let i): return String(i)
        case .double(let d): return String(d)
        case .blob(let b): return String(decoding: b, as: UTF8.self)
        case .null: return nil
        }
    }

    public func int(_ column: String) throws -> Int { try required(column, intOrNil(column)) }
    public func intOrNil(_ column: String) throws -> Int? {
        switch try value(column) {
        case .int(let i): return Int(i)
        case .double(let d): return Int(d)
        case .text(let s): return Int(s)
        case .blob, .null: return nil
        }
    }

    public func double(_ column: String) throws -> Double { try required(column, doubleOrNil(column)) }
    public func doubleOrNil(_ column: String) throws -> Double? {
        switch try value(column) {
        case .double(let d): return d
        case .int(let i): return Double(i)
        case .text(let s): return Double(s)
        case .blob, .null: return nil
        }
    }

    public func date(_ column: String) throws -> Date { Date(timeIntervalSince1970: try double(column)) }
    public func dateOrNil(_ column: String) throws -> Date? { try doubleOrNil(column).map { Date(timeIntervalSince1970: $0) } }
    public func bool(_ column: String) throws -> Bool { try int(column) != 0 }

    public func bytesOrNil(_ column: String) throws -> [UInt8]? {
        switch try value(column) {
        case .blob(let b): return b
        case .text(let s): return Array(s.utf8)
        default: return nil
        }
    }
}

/// One transaction on the state database. Statements use `?` placeholders on both backends.
public protocol SQLTransaction {
    /// Runs a statement that returns no rows.
    func execute(_ sql: String, _ arguments: [any SQLBindable]) throws
    /// Runs a query (or a statement with `RETURNING`) and returns every row.
    func rows(_ sql: String, _ arguments: [any SQLBindable]) throws -> [SQLRow]
}

extension SQLTransaction {
    func execute(_ sql: String) throws { try execute(sql, []) }
    func rows(_ sql: String) throws -> [SQLRow] { try rows(sql, []) }
    func row(_ sql: String, _ arguments: [any SQLBindable] = []) throws -> SQLRow? { try rows(sql, arguments).first }
    /// Whether the query returns at least one row.
    func exists(_ sql: String, _ arguments: [any SQLBindable] = []) throws -> Bool { try !rows(sql, arguments).isEmpty }
}

/// Which SQL the schema is written in; the statements themselves are common to both.
public enum SQLDialect: String, Sendable {
    case sqlite
    case postgresql
}

/// A state database: SQLite (the embedded default) or PostgreSQL (two hosts, one leader: docs/high-availability.md).
/// Every method of `StateStore` is one `write` or `read`.
public protocol StateDatabase: Sendable {
    var dialect: SQLDialect { get }
    /// Where it is, for messages (a path, or a URL without its password).
    var location: String { get }
    func write<T>(_ body: (any SQLTransaction) throws -> T) throws -> T
    func read<T>(_ body: (any SQLTransaction) throws -> T) throws -> T
}
