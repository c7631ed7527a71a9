/// The `[policy]` section: what mixer-sync may do and the limits of its safety gates.
public struct Policy: Sendable, Equatable {
    /// What to do with MixerAI accounts that no directory person accounts for.
    public enum Unlinked: String, Sendable, CaseIterable { case report, deactivate }
    /// How a returning person's roles are set.
    public enum Reactivation: String, Sendable, CaseIterable { case rederive, restore }

    public var allowAdminGrants = false
    public var unlinked = Unlinked.report
    public var reactivation = Reactivation.rederive
    public var deleteAfterDays = 0
    public var protected: [String] = []
    public var minAdmins = 1
    public var maxShrinkPercent = 20
    public var maxDeactivations = 25
    public var maxDeactivationsPercent = 10
    public var maxDowngrades = 25
    public var pendingInviteDays = 14
    public var inactiveDays = 90

    public init() {}
}
