import Foundation
import SluiceCore
import SluiceTesting
import Testing

/// `sluice review`, run as the real executable against a gateway holding a seeded week.
@Suite(.serialized)
struct ReviewCLITests {
    @Test func printsTheReviewAsMarkdownJSONAndHTML() async throws {
        try await Harness.with("auth: { admin_key: \(WeeklyReviewTests.admin) }\n", clock: ManualClock(WeeklyReviewTests.now)) { h in
            let seeded = try await WeeklyReviewTests.seed(h.gateway.store)
            let dir = try makeTempDir()
            let base = ["review", "--url", h.base, "--admin-key", WeeklyReviewTests.admin]

            let (status, md) = try await SluiceProcess.run(base, directory: dir)
            #expect(status == 0, "\(md)")
            #expect(md.contains("# Sluice weekly review") && md.contains("| summarize | $0.5600 | $0.0700 |"), "\(md)")
            #expect(md.contains(ReviewTextProbe.md(WeeklyReviewTests.pattern)), "\(md)")
            for id in seeded.flagged { #expect(md.contains("](/calls/\(id))"), "\(md)") }

            let (jsonStatus, out) = try await SluiceProcess.run(base + ["--since", "7d", "--format", "json"], directory: dir)
            #expect(jsonStatus == 0, "\(out)")
            let json = try JSON.parse(String(out.split(separator: "\n").last { $0.hasPrefix("{") } ?? ""))
            #expect(json["biggest_movers"]?.arrayValue?.first?["purpose"] == "summarize")
            #expect(json["error_patterns"]?.arrayValue?.contains { $0["pattern"]?.stringValue == WeeklyReviewTests.pattern } == true)

            let (htmlStatus, html) = try await SluiceProcess.run(base + ["--format", "html"], directory: dir)
            #expect(htmlStatus == 0 && html.contains("<table id=\"flagged-outputs\">") && html.contains("href=\"/calls/\(seeded.flagged[0])\""), "\(html)")

            let (badStatus, bad) = try await SluiceProcess.run(base + ["--since", "soon"], directory: dir)
            #expect(badStatus != 0 && bad.contains("since must be a duration"), "\(bad)")
            let (badFormat, badText) = try await SluiceProcess.run(base + ["--format", "pdf"], directory: dir)
            #expect(badFormat != 0 && badText.contains("--format must be md, html or json"), "\(badText)")
        }
    }
}
