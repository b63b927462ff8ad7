import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import ServiceLifecycle
import SluiceCore
import SluiceStore

/// `review: {every: 7d, webhook: URL}`: posts the weekly review to the webhook once per period
/// across all nodes. Periods are aligned to the Unix epoch (`floor(now / every)`); the node that
/// claims the period in the store (``PeriodReviewStore/claimReviewPeriod(_:node:at:)``) builds the
/// review of the `since` (default `every`) ending now and posts Slack-compatible JSON: the
/// markdown as `text` and the review's JSON as `review`, retried three times with backoff.
///
/// One runs among ``Gateway/services``; it looks at start and then every `tick`, reading
/// `review:` from the live config, so a reload starts, stops or re-times it.
public final class ReviewScheduler: Service, Sendable {
    let gateway: Gateway
    let tick: Duration

    init(gateway: Gateway, tick: Duration = .seconds(60)) {
        self.gateway = gateway
        self.tick = tick
    }

    public func run() async throws {
        while true {
            _ = await cancelWhenGracefulShutdown { await self.postDue() }
            do { try await cancelWhenGracefulShutdown { try await Task.sleep(for: self.tick) } } catch { return }
        }
    }

    /// Posts the review when the current period is not posted yet and this node claims it; returns
    /// whether this node claimed it (`false` with no `review.webhook`, or when another node did).
    @discardableResult
    public func postDue() async -> Bool {
        guard let config = gateway.live.config.review, let webhook = config.webhook else { return false }
        let now = gateway.clock.now()
        let period = Int64((now.timeIntervalSince1970 / config.everySeconds).rounded(.down))
        do {
            guard try await gateway.store.claimReviewPeriod(period, node: gateway.node, at: now) else { return false }
            await gateway.callLog.flush()
            let review = try await WeeklyReview.build(
                store: gateway.store, config: gateway.live.config, now: now, since: config.sinceSeconds ?? config.everySeconds)
            let payload: JSON = ["text": .string(review.markdown), "review": review.json]
            let delivered = await post(payload, to: webhook)
            if delivered {
                gateway.logger.info("weekly review posted", metadata: ["period": "\(period)"])
            } else {
                gateway.logger.error("weekly review webhook failed after 3 tries", metadata: ["period": "\(period)"])
            }
            return true
        } catch {
            gateway.logger.error("weekly review could not be built", metadata: ["error": "\(error)"])
            return false
        }
    }

    func post(_ payload: JSON, to webhook: String) async -> Bool {
        for attempt in 1...3 {
            var req = HTTPClientRequest(url: webhook)
            req.method = .POST
            req.headers.add(name: "content-type", value: "application/json")
            req.body = .bytes(ByteBuffer(bytes: payload.serialized()))
            if let res = try? await HTTPClient.shared.execute(req, timeout: .seconds(10)), (200..<300).contains(Int(res.status.code)) { return true }
            if attempt < 3 { try? await Task.sleep(for: .milliseconds(500 << (attempt - 1))) }
        }
        return false
    }
}

extension Gateway {
    /// A scheduler of the live config's `review:` (``services`` runs one).
    public var reviewScheduler: ReviewScheduler { ReviewScheduler(gateway: self) }
}
