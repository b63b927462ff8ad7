import Foundation
import SluiceCore

/// Every loaded prompt version, by name. Immutable: a reload builds a new one.
public struct PromptLibrary: Sendable {
    /// The directory the prompts came from.
    public let directory: String
    private let byName: [String: [String: Prompt]]
    private let live: [String: String]

    /// A library of `prompts`. A prompt's live version is the one in
    /// `NAME.prompt.yaml` when that file exists, otherwise the highest version
    /// in `NAME/` (compared as natural numbers: v10 > v9, 2026-11-02 > 2026-10-30).
    public init(prompts: [Prompt], directory: String = "prompts") {
        self.directory = directory
        var byName: [String: [String: Prompt]] = [:]
        var live: [String: String] = [:]
        for p in prompts { byName[p.name, default: [:]][p.version] = p }
        for p in prompts where p.path.hasSuffix("/\(p.name)\(PromptLoader.suffix)") || p.path == "\(p.name)\(PromptLoader.suffix)" {
            live[p.name] = p.version
        }
        for (name, versions) in byName where live[name] == nil {
            live[name] = versions.keys.max(by: Self.versionPrecedes)
        }
        self.byName = byName
        self.live = live
    }

    /// An empty library.
    public static let empty = PromptLibrary(prompts: [])

    /// The prompt names, sorted.
    public var names: [String] { byName.keys.sorted() }

    /// Every version of `name`, oldest first.
    public func versions(of name: String) -> [Prompt] {
        (byName[name] ?? [:]).values.sorted { Self.versionPrecedes($0.version, $1.version) }
    }

    /// The live version tag of `name`.
    public func liveVersion(of name: String) -> String? { live[name] }

    /// `name` at `version`, or its live version when `version` is `nil`.
    public func prompt(_ name: String, version: String? = nil) -> Prompt? {
        guard let v = version ?? live[name] else { return nil }
        return byName[name]?[v]
    }

    /// Every prompt version.
    public var all: [Prompt] { names.flatMap { versions(of: $0) } }

    /// Natural order: runs of digits compare as numbers, the rest as text.
    public static func versionPrecedes(_ a: String, _ b: String) -> Bool {
        func runs(_ s: String) -> [(Bool, Substring)] {
            var out: [(Bool, Substring)] = []
            var start = s.startIndex
            while start < s.endIndex {
                let digit = s[start].isASCII && s[start].isNumber
                var end = start
                while end < s.endIndex, (s[end].isASCII && s[end].isNumber) == digit { end = s.index(after: end) }
                out.append((digit, s[start..<end]))
                start = end
            }
            return out
        }
        let ra = runs(a)
        let rb = runs(b)
        for (x, y) in zip(ra, rb) where x.1 != y.1 {
            if x.0 && y.0 {
                let nx = x.1.drop { $0 == "0" }
                let ny = y.1.drop { $0 == "0" }
                return nx.count != ny.count ? nx.count < ny.count : nx < ny
            }
            return x.1 < y.1
        }
        return ra.count < rb.count
    }
}
