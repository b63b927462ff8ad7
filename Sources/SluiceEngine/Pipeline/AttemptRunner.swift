import Foundation
import SluiceCore
import SluiceProviders
import SluiceStore

/// How a call's attempts ended.
enum AttemptOutcome<T: Sendable>: Sendable {
    /// A target answered. `firstStart` is when the first attempt began. A stream's
    /// breaker outcome is known only at its end: `pending` is the ticket to report then.
    case success(T, ResolvedTarget, firstStart: ContinuousClock.Instant, pending: BreakerBoard.Ticket?)
    /// No target answered; the error is what the client gets (or the reason for a degraded answer).
    case failure(SluiceError)
}

/// Runs one call's upstream attempts: targets in route order, skipping the
/// killed and the ones whose breaker is open, retrying retryable failures
/// with backoff, all inside the purpose's deadline. Every attempt is appended
/// to the call record, and so is every target that `skip` rules out (with its
/// reason and no status: a request it cannot take, such as a native-only feature).
struct AttemptRunner: Sendable {
    let breakers: BreakerBoard
    let kills: KillBoard
    /// A span per attempt; `nil` when tracing is off.
    var traces: CallTracer? = nil

    func run<T: Sendable>(
        targets: [ResolvedTarget], policy: CallPolicy, deadline: ContinuousClock.Instant?, purpose: String,
        stream: Bool, record: inout CallRecord, skip: (@Sendable (ResolvedTarget) -> String?)? = nil,
        attempt: @escaping @Sendable (ResolvedTarget) async throws(ProviderError) -> T
    ) async -> AttemptOutcome<T> {
        let attempt = traces?.traced(attempt, callID: record.callID) ?? attempt
        let plan = RoutePlan.order(targets)
        var skipped: [String] = []
        var breakerSkipped: [String] = []
        var firstKill: KillSwitch?
        var last: (error: ProviderError, target: ResolvedTarget)?
        var firstStart: ContinuousClock.Instant?
        let maxTries = policy.retry.settings.maxAttempts
        targetLoop: for (index, target) in plan.enumerated() {
            if let why = skip?(target) {
                // A target that cannot take this request (a native-only feature): an attempt that sent nothing.
                record.attempts.append(Attempt(provider: target.provider.name, model: target.model, status: nil, latencyMs: 0, error: why))
                skipped.append("\(target.breakerKey) (\(why))")
                continue
            }
            if let k = killed(target) {
                firstKill = firstKill ?? k
                skipped.append("\(target.breakerKey) (kill switch: \(k.reason))")
                continue
            }
            for n in 1...maxTries {
                if Task.isCancelled { return .failure(Self.cancelled(record)) }
                if let deadline, ContinuousClock.now >= deadline {
                    return .failure(timeoutError(policy, purpose: purpose, record: record, last: last))
                }
                guard let ticket = breakers.admit(target.breakerKey) else {
                    breakerSkipped.append(target.breakerKey)
                    skipped.append("\(target.breakerKey) (circuit breaker open)")
                    continue targetLoop
                }
                let start = ContinuousClock.now
                firstStart = firstStart ?? start
                record.provider = target.provider.name
                var limit = deadline
                var ttftLimited = false
                if stream, let ttft = policy.ttftTimeout, limit.map({ start + ttft < $0 }) ?? true {
                    limit = start + ttft
                    ttftLimited = true
                }
                let keys = KeyUseLog()  // the pool keys this try uses, for its Attempt
                let attempt = Self.noting(keys, attempt)
                do throws(ProviderError) {
                    let value: T
                    if let limit {
                        let expired = ProviderError(
                            .timeout,
                            message: ttftLimited
                                ? "no first chunk within ttft_timeout_ms (\(Self.ms(policy.ttftTimeout)) ms)"
                                : "no answer before the call's deadline (timeout_ms \(Self.ms(policy.timeout)) ms)")
                        value = try await withAttemptDeadline(limit, expired: expired) { () async throws(ProviderError) -> T in
                            try await attempt(target)
                        }
                    } else {
                        value = try await attempt(target)
                    }
                    if !stream { breakers.record(ticket, success: true) }
                    record.attempts.append(
                        Attempt(
                            provider: target.provider.name, model: target.model, status: 200,
                            latencyMs: (ContinuousClock.now - start).milliseconds, error: nil
                        ).noting(keys))
                    return .success(value, target, firstStart: firstStart ?? start, pending: stream ? ticket : nil)
                } catch {
                    record.attempts.append(
                        Attempt(
                            provider: target.provider.name, model: target.model, status: error.status,
                            latencyMs: (ContinuousClock.now - start).milliseconds, error: error.message
                        ).noting(keys))
                    last = (error, target)
                    let pastDeadline = deadline.map { ContinuousClock.now >= $0 } ?? false
                    // Cut by the call's own deadline or abandoned by its caller: says nothing about the target.
                    if Task.isCancelled || (pastDeadline && !ttftLimited) {
                        breakers.release(ticket)
                        if Task.isCancelled { return .failure(Self.cancelled(record)) }
                        return .failure(timeoutError(policy, purpose: purpose, record: record, last: last))
                    }
                    let kind = FailureClass(error)
                    breakers.record(ticket, success: !kind.countsAgainstTarget)
                    // The decision is a value (RetryStep); this loop only carries it out.
                    let step = RetryStep(
                        kind: kind, tryNumber: n, maxTries: maxTries, ttftTimedOut: ttftLimited && error.kind == .timeout,
                        retryAfterSeconds: error.retryAfterSeconds, deadline: deadline,
                        laterTargetUsable: hasUsableTarget(in: plan[(index + 1)...]))
                    switch step.next(now: ContinuousClock.now, policy: policy.retry) {
                    case .timedOut: return .failure(timeoutError(policy, purpose: purpose, record: record, last: last))
                    case .reject: return .failure(Self.rejected(error, target: target, attempts: record.attempts))
                    case .nextTarget: continue targetLoop
                    case .timeout(let at, let waitMs):
                        try? await Task.sleep(until: at, clock: .continuous)
                        if Task.isCancelled { return .failure(Self.cancelled(record)) }
                        return .failure(timeoutError(policy, purpose: purpose, record: record, last: last, waitMs: waitMs))
                    case .retry(let wait):
                        if wait > .zero { try? await Task.sleep(for: wait) }
                    }
                }
            }
        }
        if let last {
            return .failure(Self.exhausted(last.error, target: last.target, attempts: record.attempts, skipped: skipped))
        }
        if !breakerSkipped.isEmpty {
            let wait = breakers.secondsToNextProbe(breakerSkipped) ?? 1
            return .failure(
                SluiceError(
                    .breakerOpen,
                    "Every target of model '\(record.model)' is unavailable: \(skipped.joined(separator: ", ")). "
                        + "No upstream request was made; an open breaker lets one probe through after breaker.cooldown_s.",
                    retryAfterSeconds: max(1, Int(wait.rounded(.up)))))
        }
        let reason = firstKill.map { ": \($0.reason)" } ?? ""
        return .failure(
            SluiceError(
                .disabled,
                "Every target of model '\(record.model)' is switched off by a kill switch\(reason) "
                    + "(\(skipped.joined(separator: ", "))). Turn one back on with `sluice unkill`."))
    }

    /// The kill switch that takes `target` out, if any.
    func killed(_ target: ResolvedTarget) -> KillSwitch? {
        guard !kills.isEmpty else { return nil }
        return kills.kill(.provider, target.provider.name) ?? kills.kill(.model, target.model)
    }

    /// Whether any of `targets` could be called now (not killed, breaker not refusing).
    func hasUsableTarget(in targets: ArraySlice<ResolvedTarget>) -> Bool {
        targets.contains { killed($0) == nil && !breakers.isRefusing($0.breakerKey) }
    }

    /// The caller went away; recorded as 499, never sent.
    static func cancelled(_ record: CallRecord) -> SluiceError {
        SluiceError(.clientClosed, "The caller went away after \(record.attempts.count) upstream attempt(s).")
    }

    static func ms(_ d: Duration?) -> Int { d.map { Int($0.milliseconds) } ?? 0 }

    func timeoutError(
        _ policy: CallPolicy, purpose: String, record: CallRecord, last: (error: ProviderError, target: ResolvedTarget)?,
        waitMs: Double? = nil
    ) -> SluiceError {
        var message =
            "The call did not finish within timeout_ms (\(Self.ms(policy.timeout)) ms) of purpose '\(purpose)' "
            + "after \(record.attempts.count) attempt(s)"
        if let last {
            message += "; the last, upstream '\(last.target.provider.name)' (model \(last.target.model)), failed: \(last.error.message)"
        }
        if let waitMs { message += "; the next try had to wait \(Int(waitMs)) ms (backoff or Retry-After), past the deadline" }
        var details = JSONObject()
        details["attempts"] = .array(record.attempts.map(\.json))
        return SluiceError(.timeout, message + ".", details: details)
    }

    /// The request was refused as malformed: every target would refuse it too.
    static func rejected(_ e: ProviderError, target: ResolvedTarget, attempts: [Attempt]) -> SluiceError {
        var details = JSONObject()
        details["upstream_status"] = e.status.map(JSON.int) ?? .null
        details["attempts"] = .array(attempts.map(\.json))
        return SluiceError(
            .invalidRequest,
            "Upstream '\(target.provider.name)' (model \(target.model)) rejected the request with HTTP \(e.status ?? 400): "
                + "\(e.message). It was not retried: the request itself must change.",
            details: details)
    }

    /// Every target failed.
    static func exhausted(_ e: ProviderError, target: ResolvedTarget, attempts: [Attempt], skipped: [String]) -> SluiceError {
        let what = e.status.map { "HTTP \($0)" } ?? e.kind.rawValue
        var details = JSONObject()
        details["upstream_status"] = e.status.map(JSON.int) ?? .null
        details["attempts"] = .array(attempts.map(\.json))
        var message =
            attempts.count > 1
            ? "Every target failed after \(attempts.count) attempts; the last, upstream '\(target.provider.name)' (model \(target.model)), failed with \(what): \(e.message)"
            : "Upstream '\(target.provider.name)' (model \(target.model)) failed with \(what): \(e.message)"
        if !skipped.isEmpty { message += ". Skipped: \(skipped.joined(separator: ", "))" }
        return SluiceError(
            .upstreamError, message, details: details,
            retryAfterSeconds: e.retryAfterSeconds.map { Int(min($0, RetryAfter.maxSeconds).rounded(.up)) })
    }
}
