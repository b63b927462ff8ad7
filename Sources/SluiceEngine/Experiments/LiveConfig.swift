import Foundation
import SluiceCore
import Synchronization

/// The purpose settings every call reads: the config file's, with the live
/// flags laid over them, and the prompt library they name. Swapped whole when
/// the config is reloaded or a flag changes on any node, so a call sees one
/// consistent version (never new prompts with the old config, or the reverse).
public final class LiveConfig: Sendable {
    /// One consistent version.
    public struct Snapshot: Sendable {
        /// The config as read from its file.
        public let base: SluiceConfig
        /// The config with the flags applied to its purposes.
        public let config: SluiceConfig
        /// The prompt library loaded with `base`.
        public let prompts: PromptLibrary
        /// The flags in force, by key, with their values.
        public let flags: [String: JSON]
        /// Purposes switched off by a `PURPOSE.disabled` flag.
        public let disabled: Set<String>
        /// Canary guards by purpose (`PURPOSE.guard`).
        public let guards: [String: RolloutGuardSpec]
        /// The call policies of `config`.
        let policies: CallPolicies
    }

    private let state: Mutex<Snapshot>

    /// Live settings starting from `config` and its `prompts`, with no flags.
    public init(config: SluiceConfig, prompts: PromptLibrary = .empty) {
        state = Mutex(Self.make(base: config, prompts: prompts, flags: [:]))
    }

    /// The current version.
    public var snapshot: Snapshot { state.withLock { $0 } }
    /// The current config (flags applied).
    public var config: SluiceConfig { state.withLock { $0.config } }
    /// The current call policies.
    var policies: CallPolicies { state.withLock { $0.policies } }
    /// The current prompt library.
    public var prompts: PromptLibrary { state.withLock { $0.prompts } }

    /// The purposes (flags applied) and the prompt library of one version, read under one lock.
    public var purposesAndPrompts: (purposes: [String: SluiceConfig.Purpose], prompts: PromptLibrary) {
        state.withLock { ($0.config.purposes, $0.prompts) }
    }

    /// Whether `purpose` is switched off by its `disabled` flag.
    public func isDisabled(_ purpose: String) -> Bool {
        state.withLock { $0.disabled.isEmpty ? false : $0.disabled.contains(purpose) }
    }

    /// Replaces the file's config and its prompt library in one step, keeping the flags.
    public func replaceBase(_ config: SluiceConfig, prompts: PromptLibrary) {
        state.withLock { $0 = Self.make(base: config, prompts: prompts, flags: $0.flags) }
    }

    /// Replaces the flags (values that no longer apply are skipped), keeping the config and prompts.
    public func replaceFlags(_ flags: [String: JSON]) {
        state.withLock { $0 = Self.make(base: $0.base, prompts: $0.prompts, flags: flags) }
    }

    /// `base` with `flags` applied. A flag that cannot apply (its purpose or prompt
    /// version is gone after a reload) is kept in `flags` but changes nothing.
    static func make(base: SluiceConfig, prompts: PromptLibrary, flags: [String: JSON]) -> Snapshot {
        var config = base
        var disabled: Set<String> = []
        var guards: [String: RolloutGuardSpec] = [:]
        for (key, value) in flags {
            guard let (purpose, name) = FlagKey.split(key) else { continue }
            switch name {
            case .disabled:
                if value.boolValue == true { disabled.insert(purpose) }
            case .model:
                if let m = value.stringValue, config.purposes[purpose] != nil { config.purposes[purpose]?.model = m }
            case .variants:
                if let arms = try? Variant.parseList(value), config.purposes[purpose] != nil { config.purposes[purpose]?.variants = arms }
            case .shadow:
                if config.purposes[purpose] != nil, let shadow = try? SluiceConfig.Shadow.parse(value) { config.purposes[purpose]?.shadow = shadow }
            case .guard:
                if let spec = try? RolloutGuardSpec(json: value) { guards[purpose] = spec }
            }
        }
        return Snapshot(base: base, config: config, prompts: prompts, flags: flags, disabled: disabled, guards: guards, policies: CallPolicies(config: config))
    }
}

/// The names a flag key may end with: `PURPOSE.variants`, `.model`, `.shadow`, `.disabled`, `.guard`.
public enum FlagKey: String, Sendable, CaseIterable {
    case variants, model, shadow, disabled
    case `guard` = "guard"

    /// Splits `triage.variants` at its last dot into purpose and flag name.
    public static func split(_ key: String) -> (String, FlagKey)? {
        guard let dot = key.lastIndex(of: ".") else { return nil }
        let purpose = String(key[..<dot])
        guard !purpose.isEmpty, CallContext.validName(purpose), let name = FlagKey(rawValue: String(key[key.index(after: dot)...])) else {
            return nil
        }
        return (purpose, name)
    }
}
