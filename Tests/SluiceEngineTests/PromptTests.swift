import Foundation
import SluiceCore
@testable import SluiceEngine
import Testing

@Suite struct PromptTests {
    let triage = """
        name: triage
        version: v3
        model: fast
        temperature: 0.2
        max_tokens: 300
        variables: [ticket, customer, tags]
        messages:
          - role: system
            content: You sort support tickets. Answer with one label.
          - role: user
            content: |
              Customer: {{customer.name}}
              Ticket: {{ticket}}
              {{#tags}}Tag: {{.}}
              {{/tags}}{{^tags}}No tags.{{/tags}}
        """

    func parse(_ text: String, path: String = "prompts/triage.prompt.yaml", name: String = "triage", version: String? = nil) throws -> Prompt {
        try PromptLoader.parse(text, path: path, expectedName: name, expectedVersion: version)
    }

    @Test func rendersStrictlyAndWithoutHTMLEscaping() throws {
        let p = try parse(triage)
        #expect(p.id == "triage@v3")
        #expect(p.params["temperature"]?.doubleValue == 0.2)
        #expect(p.params["max_tokens"] == 300)
        #expect(p.requiredVariables == ["customer", "ticket"])
        #expect(p.referencedVariables == ["customer", "ticket", "tags"])
        let out = try p.render(["ticket": "Login fails & <b>500</b> \"again\"", "customer": ["name": "Acme"], "tags": ["auth", "web"]])
        #expect(out[0] == ["role": "system", "content": "You sort support tickets. Answer with one label."])
        #expect(out[1]["content"] == "Customer: Acme\nTicket: Login fails & <b>500</b> \"again\"\nTag: auth\nTag: web\n")
        let noTags = try p.render(["ticket": "t", "customer": ["name": "B"]])
        #expect(noTags[1]["content"]?.stringValue?.hasSuffix("Ticket: t\nNo tags.") == true, "\(noTags[1])")
        #expect(p.unusedVariables(["ticket", "customer", "extra"]) == ["extra"])
    }

    @Test func aMissingVariableIsA400NamingIt() throws {
        let p = try parse(triage)
        do {
            _ = try p.render(["customer": ["name": "Acme"]])
            Issue.record("expected a 400")
        } catch {
            #expect(error.code == .invalidRequest)
            #expect(error.param == "variables.ticket")
            #expect(error.message.contains("'ticket'"))
            #expect(error.message.contains("given: customer"))
        }
    }

    @Test func brokenFilesNameTheFileAndLine() throws {
        let badTemplate = """
            version: v1
            messages:
              - role: user
                content: |
                  first line
                  {{#open}} never closed
            """
        #expect(throws: PromptError.self) { try parse(badTemplate) }
        do { _ = try parse(badTemplate) } catch let e as PromptError {
            #expect(e.file == "prompts/triage.prompt.yaml")
            #expect(e.line == 6, "\(e)")
            #expect(e.description.hasPrefix("prompts/triage.prompt.yaml:6:"))
        }
        do { _ = try parse("version: v1\nmessages: [ {role: user, content: hi}\n") } catch let e as PromptError {
            #expect(e.message.contains("invalid YAML"))
            #expect(e.line != nil)
        }
        do { _ = try parse("version: v1\ntemprature: 0.1\nmessages: [{role: user, content: hi}]\n") } catch let e as PromptError {
            #expect(e.line == 2)
            #expect(e.message.contains("unknown key 'temprature'"))
        }
        do { _ = try parse("name: other\nversion: v1\nmessages: [{role: user, content: hi}]\n") } catch let e as PromptError {
            #expect(e.message.contains("does not match the file name"))
        }
        do {
            _ = try parse("version: v2\nmessages: [{role: user, content: hi}]\n", path: "prompts/triage/v1.prompt.yaml", version: "v1")
        } catch let e as PromptError {
            #expect(e.message.contains("does not match the file name 'v1.prompt.yaml'"))
        }
        do { _ = try parse("version: v1\nmessages: [{role: robot, content: hi}]\n") } catch let e as PromptError {
            #expect(e.message.contains("role"))
        }
    }

    @Test func theContentHashFollowsWhatShapesTheRequest() throws {
        let a = try parse(triage)
        let edited = try parse(triage.replacingOccurrences(of: "one label", with: "exactly one label"))
        let retuned = try parse(triage.replacingOccurrences(of: "temperature: 0.2", with: "temperature: 0.3"))
        let described = try parse(triage.replacingOccurrences(of: "model: fast", with: "model: fast\ndescription: notes"))
        #expect(a.contentHash != edited.contentHash)
        #expect(a.contentHash != retuned.contentHash)
        #expect(a.contentHash == described.contentHash)
    }

    @Test func libraryLoadsVersionsAndPicksTheLiveOne() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("prompts-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir + "/summary", withIntermediateDirectories: true)
        func write(_ rel: String, _ version: String) throws {
            try "version: \(version)\nmessages: [{role: user, content: 'Summarise {{text}}'}]\n".write(
                toFile: dir + "/" + rel, atomically: true, encoding: .utf8)
        }
        try write("summary/v9.prompt.yaml", "v9")
        try write("summary/v10.prompt.yaml", "v10")
        try write("summary/v2.prompt.yaml", "v2")
        try write("triage.prompt.yaml", "v3")
        try write("notes.txt", "ignored")
        let lib = try PromptLoader.load(directory: dir)
        #expect(lib.names == ["summary", "triage"])
        #expect(lib.versions(of: "summary").map(\.version) == ["v2", "v9", "v10"])
        #expect(lib.liveVersion(of: "summary") == "v10")
        #expect(lib.prompt("summary")?.version == "v10")
        #expect(lib.prompt("summary", version: "v2")?.version == "v2")
        #expect(lib.liveVersion(of: "triage") == "v3")
        // A top-level file names the live version even when a folder holds newer ones.
        try FileManager.default.createDirectory(atPath: dir + "/triage", withIntermediateDirectories: true)
        try write("triage/v4.prompt.yaml", "v4")
        let again = try PromptLoader.load(directory: dir)
        #expect(again.liveVersion(of: "triage") == "v3")
        #expect(again.prompt("triage", version: "v4") != nil)
        // The same version twice is refused.
        try write("triage/v3.prompt.yaml", "v3")
        #expect(throws: PromptError.self) { try PromptLoader.load(directory: dir) }
        #expect(try PromptLoader.load(directory: dir + "/missing").all.isEmpty)
        #expect(PromptLibrary.versionPrecedes("2026-10-30", "2026-11-02"))
        #expect(!PromptLibrary.versionPrecedes("v10", "v9"))
    }

    @Test func cacheKeysDependOnEverythingThatShapesTheAnswer() throws {
        let p = try parse(triage)
        let body: JSONObject = ["model": "fast", "temperature": 0.2, "messages": [["role": "user", "content": "hi"]], "user": "u1"]
        let base = CacheKey(purpose: "triage", model: "fast", body: body, prompt: PromptRef(p))
        var reordered = JSONObject()
        for (k, v) in body.reversed() { reordered[k] = v }
        #expect(CacheKey(purpose: "triage", model: "fast", body: reordered, prompt: PromptRef(p)) == base)
        var otherUser = body
        otherUser["user"] = "u2"
        #expect(CacheKey(purpose: "triage", model: "fast", body: otherUser, prompt: PromptRef(p)).exact == base.exact)
        var hotter = body
        hotter["temperature"] = 0.9
        #expect(CacheKey(purpose: "triage", model: "fast", body: hotter, prompt: PromptRef(p)).exact != base.exact)
        let edited = try parse(triage.replacingOccurrences(of: "one label", with: "two labels"))
        #expect(CacheKey(purpose: "triage", model: "fast", body: body, prompt: PromptRef(edited)).exact != base.exact)
        #expect(CacheKey(purpose: "triage", model: "smart", body: body, prompt: PromptRef(p)).exact != base.exact)
        #expect(CacheKey(purpose: "triage", model: "fast", body: body, prompt: nil).exact != base.exact)
        var otherInput = body
        otherInput["messages"] = [["role": "user", "content": "hello"]]
        let k2 = CacheKey(purpose: "triage", model: "fast", body: otherInput, prompt: PromptRef(p))
        #expect(k2.exact != base.exact)
        #expect(k2.scope == base.scope)
        #expect(k2.userText == "hello")
    }

    @Test func semanticIndexFindsTheNearestAboveTheThreshold() {
        let index = SemanticIndex()
        let a = SemanticIndex.normalized([1, 0, 0, 0, 0, 0, 0, 0, 0, 1])!
        let b = SemanticIndex.normalized([0, 1, 0, 0, 0, 0, 0, 0, 0, 0])!
        index.add("s", key: "a", vector: a, limit: 2)
        index.add("s", key: "b", vector: b, limit: 2)
        let q = SemanticIndex.normalized([1, 0.1, 0, 0, 0, 0, 0, 0, 0, 1])!
        let hits = index.search("s", vector: q, threshold: 0.9)
        #expect(hits.map(\.key) == ["a"])
        #expect(hits.first.map { $0.similarity > 0.99 } == true)
        #expect(index.search("other", vector: q, threshold: 0.1).isEmpty)
        index.add("s", key: "c", vector: q, limit: 2)  // evicts the oldest, "a"
        #expect(index.search("s", vector: a, threshold: 0.999).isEmpty)
    }

    @Test func byteLRUEvictsTheLeastRecentlyUsed() {
        let lru = ByteLRU<Int>(capacity: 100)
        lru.set("a", 1, bytes: 40)
        lru.set("b", 2, bytes: 40)
        _ = lru.get("a")
        lru.set("c", 3, bytes: 40)  // evicts b, the least recent
        #expect(lru.get("b") == nil)
        #expect(lru.get("a") == 1)
        #expect(lru.get("c") == 3)
        lru.set("huge", 4, bytes: 101)
        #expect(lru.get("huge") == nil)
        #expect(lru.usage.bytes == 80)
    }
}
