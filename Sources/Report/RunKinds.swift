/// What kind of run a report describes (`mode` in docs/report.schema.json).
public enum RunMode: String, Codable, Sendable, CaseIterable {
    case dryRun = "dry-run", apply, changeFeed = "change-feed"
}

/// How a run ended (`outcome`); the exit codes follow from it (docs/commands.md).
public enum RunOutcome: String, Codable, Sendable, CaseIterable {
    case inSync = "in-sync", changes, applied, held, error
}

/// What became of one change of a run (`changes[].status`).
public enum ItemStatus: String, Codable, Sendable, CaseIterable {
    case planned, applied, escrow, failed, skipped

    /// Not done, and worth doing again (a retry, the next run).
    public var isLeft: Bool { self == .escrow || self == .failed }
}

// Interpolated as on the wire ("dry-run", not "dryRun"): reports, logs and `status` lines print these.
extension RunMode: CustomStringConvertible { public var description: String { rawValue } }
extension RunOutcome: CustomStringConvertible { public var description: String { rawValue } }
extension ItemStatus: CustomStringConvertible { public var description: String { rawValue } }
