import Foundation
import Logging
import SluiceCore
import SluiceStore

/// Live flags: validated, stored with an audit entry per change, applied to this
/// node's ``LiveConfig`` at once and announced to every other node (topic `flags`),
/// which reloads them from the store within a second.
public final class FlagService: Sendable {
    /// The change-feed topic flag changes are announced on.
    public static let topic = "flags"

    let store: any SluiceStore
    let live: LiveConfig
    let prompts: PromptBook
    let clock: any WallClock
    let logger: Logger

    init(store: any SluiceStore, live: LiveConfig, prompts: PromptBook, clock: any WallClock, logger: Logger) {
        self.store = store
        self.live = live
        self.prompts = prompts
        self.clock = clock
        self.logger = logger
    }

    /// Loads the stored flags into the live config.
    public func reload() async throws {
        var flags: [String: JSON] = [:]
        for f in try await store.flags() {
            if let v = try? JSON.parse(f.value) { flags[f.key] = v }
        }
        live.replaceFlags(flags)
    }

    /// Reloads, logging instead of throwing (for change handlers).
    public func reloadLogged() async {
        do { try await reload() } catch {
            logger.error("could not reload flags; keeping the ones loaded", metadata: ["error": "\(error)"])
        }
    }

    /// Every stored flag with who set it and when.
    public func stored() async throws -> [StoredFlag] { try await store.flags() }

    /// Sets (or, for a `null` value, removes) each flag after checking every one; a guard given with a
    /// purpose's `variants` change watches the arm that grew. Returns the audit entries written.
    public func set(_ values: [String: JSON], actor: String, reason: String?) async throws -> [AuditEntry] {
        guard !values.isEmpty else { throw SluiceError.invalidRequest(#"Give at least one flag, such as {"triage.variants": {"v3": 100}}."#) }
        let snapshot = live.snapshot
        var changes: [FlagChange] = []
        for (key, value) in values.sorted(by: { $0.key < $1.key }) {
            guard let (purpose, name) = FlagKey.split(key) else {
                throw SluiceError.invalidRequest(
                    "Unknown flag '\(key)'; flags are PURPOSE.\(FlagKey.allCases.map(\.rawValue).joined(separator: ", PURPOSE.")).", param: key)
            }
            if value.isNull {
                changes.append(FlagChange(key: key, value: nil))
                continue
            }
            var stored = try check(value, name: name, purpose: purpose, key: key, config: snapshot.base)
            if name == .guard {
                guard let arms = values["\(purpose).variants"], !arms.isNull else {
                    throw SluiceError.invalidRequest(
                        "A guard watches a rollout: set '\(purpose).variants' in the same change (for example v4:5 with the guard).", param: key)
                }
                var spec = try RolloutGuardSpec(json: value)
                let old = snapshot.flags["\(purpose).variants"]
                let before = old.flatMap { try? Variant.parseList($0) } ?? snapshot.base.purposes[purpose]?.variants ?? []
                let after = (try? Variant.parseList(arms)) ?? []
                spec.canary = Self.canary(before: before, after: after, base: snapshot.base.purposes[purpose])
                spec.since = clock.now()
                spec.rollback = old ?? .null
                guard spec.canary != nil else {
                    throw SluiceError.invalidRequest("The variants change grows no arm, so there is no canary for the guard to watch.", param: key)
                }
                stored = spec.json
            }
            changes.append(FlagChange(key: key, value: stored.jsonString))
        }
        // A rollout replaced by hand ends its guard.
        for (key, _) in values where key.hasSuffix(".variants") {
            let guardKey = String(key.dropLast("variants".count)) + "guard"
            if values[guardKey] == nil, snapshot.flags[guardKey] != nil { changes.append(FlagChange(key: guardKey, value: nil)) }
        }
        return try await apply(changes, actor: actor, action: "flags.set", reason: reason) ?? []
    }

    /// Applies checked changes, then reloads here and announces; `nil` when an expectation failed.
    func apply(_ changes: [FlagChange], actor: String, action: String, reason: String?) async throws -> [AuditEntry]? {
        let now = clock.now()
        guard
            let entries = try await store.changeFlags(
                changes, actor: actor, action: action, reason: reason, at: now,
                auditID: { i in IDs.make("aud", at: now.addingTimeInterval(Double(i) / 1000)) })
        else { return nil }
        await reloadLogged()
        do { try await store.changes.publish(Change(topic: Self.topic)) } catch {
            logger.warning("flags stored but not announced to other nodes", metadata: ["error": "\(error)"])
        }
        return entries
    }

    /// The arm whose share grew the most (a new arm counts from 0; without a split before, an arm
    /// running the purpose's own prompt version and model counts from 100, as all calls ran it);
    /// on a tie, an arm that runs something other than the purpose's own prompt version and model.
    static func canary(before: [Variant], after: [Variant], base: SluiceConfig.Purpose?) -> String? {
        let old = Dictionary(before.map { ($0.name, $0.percent) }, uniquingKeysWith: { a, _ in a })
        func isBase(_ v: Variant) -> Bool {
            (v.promptVersion ?? base?.promptVersion) == base?.promptVersion && (v.model ?? base?.model) == base?.model
        }
        func share(_ v: Variant) -> Double { old[v.name] ?? (before.isEmpty && isBase(v) ? 100 : 0) }
        return after.map { ($0.name, $0.percent - share($0) + (isBase($0) ? 0 : 0.000_1)) }
            .filter { $0.1 > 0.000_1 }.max { $0.1 < $1.1 }?.0
    }

    /// Checks one flag value against the config and prompts; returns the value to store.
    func check(_ value: JSON, name: FlagKey, purpose: String, key: String, config: SluiceConfig) throws -> JSON {
        if name != .disabled, config.purposes[purpose] == nil {
            throw SluiceError.invalidRequest(
                "Purpose '\(purpose)' is not configured; configured purposes: \(config.purposes.keys.sorted().joined(separator: ", ")).", param: key)
        }
        let models = Set(config.models.map(\.name))
        switch name {
        case .disabled:
            guard value.boolValue != nil else { throw SluiceError.invalidRequest("'\(key)' must be true or false.", param: key) }
        case .model:
            guard let m = value.stringValue, models.contains(m) else {
                throw SluiceError.invalidRequest(
                    "'\(key)' must name a configured model; configured models: \(models.sorted().joined(separator: ", ")).", param: key)
            }
        case .variants:
            let arms: [Variant]
            do { arms = try Variant.parseList(value) } catch { throw SluiceError.invalidRequest("'\(key)': \(error.message).", param: key) }
            if let p = config.purposes[purpose],
                let problem = ConfigLoader.variantProblem(arms, purpose: p, library: prompts.library, models: models)
            {
                throw SluiceError.invalidRequest("'\(key)': \(problem).", param: key)
            }
            return Variant.json(arms)
        case .shadow:
            let shadow: SluiceConfig.Shadow
            do { shadow = try SluiceConfig.Shadow.parse(value) } catch {
                throw SluiceError.invalidRequest(#"'\#(key)': \#(error.message); for example {"model": "smart", "sample": 0.1}."#, param: key)
            }
            if let m = shadow.model, !models.contains(m) {
                throw SluiceError.invalidRequest(
                    "'\(key)' names unknown model '\(m)'; configured models: \(models.sorted().joined(separator: ", ")).", param: key)
            }
            if let v = shadow.promptVersion, let p = config.purposes[purpose] {
                let arm = Variant(name: "shadow", percent: 0, promptVersion: v, model: shadow.model)
                if let problem = ConfigLoader.variantProblem([arm], purpose: p, library: prompts.library, models: models) {
                    throw SluiceError.invalidRequest("'\(key)': \(problem.replacingOccurrences(of: "variant 'shadow'", with: "shadow")).", param: key)
                }
            }
            return shadow.json
        case .guard:
            do { _ = try RolloutGuardSpec(json: value) } catch { throw SluiceError.invalidRequest("'\(key)': \(error.message).", param: key) }
        }
        return value
    }
}
