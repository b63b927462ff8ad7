import Foundation
import Prometheus
import SluiceProviders

/// Per-key gauges of the providers' key pools, labelled by provider and key **name** (never the secret).
extension GatewayMetrics {
    /// Refreshes, for every pooled key: `sluice_provider_key_remaining_requests` and
    /// `sluice_provider_key_remaining_tokens` (from the last answer's rate-limit headers, less
    /// the calls sent since; -1 when unknown), `sluice_provider_key_cooldown_seconds` (how long
    /// until the key is used again: a 429's cooldown or an exhausted window; 0 when it has room)
    /// and `sluice_provider_key_calls` / `sluice_provider_key_rate_limited` (requests and 429s since start).
    func refreshKeyPools() {
        for pool in keyPools {
            let now = pool.now
            for k in pool.snapshot() {
                let labels = [("provider", pool.provider), ("key", k.name)]
                gauge(
                    "provider_key_remaining_requests",
                    "Requests the provider key may still make in its rate-limit window, from the upstream's headers (-1: unknown).",
                    labels
                ).set(to: Double(k.remainingRequests ?? -1))
                gauge(
                    "provider_key_remaining_tokens",
                    "Tokens the provider key may still use in its rate-limit window, from the upstream's headers (-1: unknown).",
                    labels
                ).set(to: Double(k.remainingTokens ?? -1))
                gauge(
                    "provider_key_cooldown_seconds",
                    "Seconds until the provider key is used again (a 429's cooldown or an exhausted window); 0 when it has room.",
                    labels
                ).set(to: max(0, k.blockedUntil(now: now)?.timeIntervalSince(now) ?? 0))
                gauge("provider_key_calls", "Upstream requests sent with the provider key since this node started.", labels)
                    .set(to: Double(k.calls))
                gauge("provider_key_rate_limited", "429 answers the provider key got since this node started.", labels)
                    .set(to: Double(k.rateLimited))
            }
        }
    }
}
