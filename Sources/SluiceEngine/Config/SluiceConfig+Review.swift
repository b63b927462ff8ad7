import Foundation

extension SluiceConfig {
    /// `review: {every: 7d, webhook: URL, since: 7d}`: the weekly review posted on a schedule, once per period across nodes.
    public struct Review: Sendable, Equatable {
        /// The period in seconds (default 7 days).
        public var everySeconds: Double = 7 * 86_400
        /// Where the review is posted (Slack-compatible JSON with a markdown `text`); `nil` posts nothing.
        public var webhook: String?
        /// The window the posted review covers, in seconds (default: `every`).
        public var sinceSeconds: Double?

        /// A setting; see the properties.
        public init(everySeconds: Double = 7 * 86_400, webhook: String? = nil, sinceSeconds: Double? = nil) {
            self.everySeconds = everySeconds
            self.webhook = webhook
            self.sinceSeconds = sinceSeconds
        }
    }
}
