import ArgumentParser
import Foundation
import SluiceCore
import SluiceEngine

/// `sluice review [--since 7d] [--format md|html|json]`: the weekly review from a running gateway.
struct ReviewCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "review",
        abstract: "The weekly review: spend, latency and errors against the previous period, error patterns, flagged outputs, events.")

    @OptionGroup var options: ConfigOption
    @OptionGroup var admin: AdminOptions
    @Option(help: "The period, ending now (1h to 90d).") var since = "7d"
    @Option(help: "md, html or json.") var format = "md"

    func run() async throws {
        guard let format = WeeklyReview.Format(rawValue: format) else {
            throw ValidationError("--format must be md, html or json; got '\(format)'.")
        }
        let config = try loadConfigOrExit(options.config)
        let client = AdminClient(options: admin, config: config)
        let query = since.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? since
        let json = try client.expectOK(await client.send(.GET, "/admin/review?since=\(query)&format=json"))
        let review = WeeklyReview(json: json)
        switch format {
        case .json: print(json.jsonString)
        case .md: print(review.markdown)
        case .html: print(review.html)
        }
    }
}
