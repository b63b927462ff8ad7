import Foundation

extension ConfigLoader {
    /// `review: {every: 7d, webhook: URL, since: 7d}`.
    static func parseReview(_ n: ConfigNode) throws -> SluiceConfig.Review {
        var r = SluiceConfig.Review()
        for (k, v) in try n.mapping(allowed: ["every", "webhook", "since"]) {
            switch k {
            case "every":
                guard let s = SluiceConfig.seconds(try v.string()), s >= 60 else {
                    throw v.error("every must be a duration of at least 1m, such as 1d or 7d")
                }
                r.everySeconds = s
            case "since":
                guard let s = SluiceConfig.seconds(try v.string()), s >= 60 else {
                    throw v.error("since must be a duration of at least 1m, such as 7d")
                }
                r.sinceSeconds = s
            case "webhook":
                let url = try v.string()
                if !url.isEmpty {
                    guard url.hasPrefix("http://") || url.hasPrefix("https://") else { throw v.error("webhook must be an http(s) URL") }
                    r.webhook = url
                }
            default: break
            }
        }
        return r
    }
}
