import Foundation
import SluiceStore
import Testing

@Suite struct StorageURLTests {
    @Test func poolMaxMustLeaveRoomBesideTheListener() throws {
        for bad in ["0", "1", "1001", "x"] {
            do {
                _ = try PostgresURL.parse("postgres://u:p@h/db?pool_max=\(bad)")
                Issue.record("pool_max=\(bad) was accepted")
            } catch {
                #expect(error.message.contains("pool_max must be 2…1000"), "\(error)")
                #expect(!error.message.contains(":p@"))
            }
        }
        #expect(try PostgresURL.parse("postgres://u:p@h/db?pool_max=2").poolMax == 2)
        guard case .failure(let e) = StorageURL.parse("postgres://u:p@h/db?pool_max=1") else {
            Issue.record("pool_max=1 was accepted")
            return
        }
        #expect(e.message.contains("pool_max"))
    }

    @Test func printingAURLNeverShowsThePassword() throws {
        let secret = "s3cret-Pa55"
        let url = try PostgresURL.parse("postgres://sluice:\(secret)@db.internal:5433/gw?schema=team_a&pool_max=5")
        let storage = try StorageURL.parse("postgres://sluice:\(secret)@db.internal/gw").get()
        var dumped = ""
        dump(url, to: &dumped)
        dump(storage, to: &dumped)
        for text in ["\(url)", String(reflecting: url), String(describing: url), "\(storage)", String(reflecting: storage), "\([url])", dumped] {
            #expect(!text.contains(secret), "\(text)")
        }
        #expect("\(url)" == "postgres://sluice:***@db.internal:5433/gw?schema=team_a")
        #expect("\(storage)" == "postgres://sluice:***@db.internal:5432/gw")
        #expect("\(StorageURL.sqlite(path: "./s.db"))" == "sqlite://./s.db")
        #expect(url.password == secret)
    }
}
