import Foundation
import SluiceEngine
import Testing

/// docs/guarantees.md stays honest: every ``Surface`` × ``Policy`` × {whole, stream} has a
/// cell, and every cell names Swift tests that exist or says `n/a: why`. Adding a surface or
/// a policy to the code without its cells fails here, naming what is missing.
@Suite struct GuaranteesMatrixTests {
    /// The repository root (this file is Tests/SluiceServerTests/GuaranteesMatrixTests.swift).
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    @Test func everyCellNamesATestThatExistsOrSaysWhyNot() throws {
        let doc = try String(contentsOf: Self.root.appendingPathComponent("docs/guarantees.md"), encoding: .utf8)
        let tests = try GuaranteeMatrix.testIndex(under: Self.root.appendingPathComponent("Tests"))
        let problems = GuaranteeMatrix.problems(
            doc: doc, surfaces: Surface.allCases.map(\.rawValue), policies: Policy.allCases.map(\.rawValue), tests: tests)
        #expect(problems.isEmpty, Comment(rawValue: "docs/guarantees.md: \(problems.count) problems:\n" + problems.joined(separator: "\n")))
    }

    /// The check itself: a surface with no columns (as `responses` would be when added to
    /// ``Surface`` alone), a policy with no row, an empty cell, an `n/a` without a reason, a
    /// test that does not exist, and a row for no policy are each reported.
    @Test func theCheckNamesEveryKindOfWrongCell() throws {
        let tests = try GuaranteeMatrix.testIndex(under: Self.root.appendingPathComponent("Tests"))
        #expect(tests.contains("GuaranteesMatrixTests.theCheckNamesEveryKindOfWrongCell"))
        #expect(tests.contains("ResilienceTests.serverErrorsFallBackToTheNextTarget"), "a @Test(arguments:) on its own line counts")
        #expect(!tests.contains("ResilienceTests.statuses"), "a helper is not a test")
        let doc = """
            | policy | chat whole | chat stream |
            |---|---|---|
            | `auth_scope` | `GuaranteesMatrixTests.theCheckNamesEveryKindOfWrongCell` | n/a |
            | `budgets` |  | `NoSuchSuite.noSuchTest`, `ErrorTests.scopeAndAdminAre403` |
            | `ghost` | n/a: not a policy at all | n/a: nor here |
            """
        let problems = GuaranteeMatrix.problems(
            doc: doc, surfaces: ["chat", "responses"], policies: ["auth_scope", "budgets", "cache"], tests: tests)
        let expected = [
            "`chat stream` × `auth_scope` (line 3): `n/a` needs a reason",
            "`chat whole` × `budgets` (line 4): empty cell",
            "`chat stream` × `budgets` (line 4): `NoSuchSuite.noSuchTest` is not a @Test func",
            "line 5: `ghost` is not a Policy",
            "`chat whole` × `cache`: no cell",
            "`chat stream` × `cache`: no cell",
            "`responses whole`: no column",
            "`responses stream`: no column",
        ]
        for e in expected { #expect(problems.contains { $0.hasPrefix(e) }, "missing “\(e)” in:\n\(problems.joined(separator: "\n"))") }
        #expect(problems.count == expected.count, "\(problems.joined(separator: "\n"))")
    }
}

/// Reads the guarantees matrix: markdown tables whose header starts with `policy`, one row
/// per policy (its snake_case name), columns `SURFACE whole` / `SURFACE stream`.
enum GuaranteeMatrix {
    static let modes = ["whole", "stream"]

    struct Cell {
        var text: String
        var line: Int
    }

    /// What is wrong with `doc` for these surfaces and policies, one line each; `tests` holds `Suite.test` names.
    static func problems(doc: String, surfaces: [String], policies: [String], tests: Set<String>) -> [String] {
        var problems: [String] = []
        var cells: [String: Cell] = [:]  // "surface mode|policy"
        var columns: Set<String> = []
        var header: [String]?
        for (index, raw) in doc.components(separatedBy: "\n").enumerated() {
            let line = index + 1
            let trimmed = raw.trimmingCharacters(in: .whitespaces)
            guard trimmed.hasPrefix("|") else {
                header = nil
                continue
            }
            var parts = trimmed.split(separator: "|", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            parts.removeFirst()
            if parts.last == "" { parts.removeLast() }
            guard let first = parts.first else { continue }
            if first.lowercased() == "policy" {
                header = Array(parts.dropFirst())
                for column in header! {
                    let words = column.split(separator: " ").map(String.init)
                    if words.count != 2 || !modes.contains(words[1]) {
                        problems.append("line \(line): column `\(column)` is not `SURFACE whole` or `SURFACE stream`")
                    } else if !surfaces.contains(words[0]) {
                        problems.append("line \(line): `\(words[0])` is not a Surface")
                    } else {
                        columns.insert(column)
                    }
                }
                continue
            }
            guard let columnNames = header, !parts.allSatisfy({ cell in cell.allSatisfy { "-: ".contains($0) } }) else { continue }
            let policy = first.trimmingCharacters(in: CharacterSet(charactersIn: "`"))
            guard policies.contains(policy) else {
                problems.append("line \(line): `\(policy)` is not a Policy")
                continue
            }
            if parts.count - 1 != columnNames.count {
                problems.append("line \(line): `\(policy)` has \(parts.count - 1) cells for \(columnNames.count) columns")
            }
            for (column, text) in zip(columnNames, parts.dropFirst()) where columns.contains(column) {
                let key = column + "|" + policy
                if let earlier = cells[key] {
                    problems.append("`\(column)` × `\(policy)` (line \(line)): a second cell (the first is on line \(earlier.line))")
                }
                cells[key] = Cell(text: text, line: line)
            }
        }
        for surface in surfaces {
            for mode in modes {
                let column = "\(surface) \(mode)"
                guard columns.contains(column) else {
                    problems.append("`\(column)`: no column; every surface needs `\(surface) whole` and `\(surface) stream` with a cell for every policy")
                    continue
                }
                for policy in policies {
                    guard let cell = cells[column + "|" + policy] else {
                        problems.append("`\(column)` × `\(policy)`: no cell")
                        continue
                    }
                    problems += check(cell.text, tests: tests).map { "`\(column)` × `\(policy)` (line \(cell.line)): \($0)" }
                }
            }
        }
        return problems
    }

    /// What is wrong with one cell: it must be `n/a: reason` or one or more `Suite.test` references.
    static func check(_ text: String, tests: Set<String>) -> [String] {
        if text.isEmpty { return ["empty cell"] }
        if text.lowercased().hasPrefix("n/a") {
            let rest = text.dropFirst(3)
            let reason = rest.hasPrefix(":") ? rest.dropFirst().trimmingCharacters(in: .whitespaces) : ""
            return reason.split(separator: " ").count >= 2 ? [] : ["`n/a` needs a reason: `n/a: why`"]
        }
        var problems: [String] = []
        for item in text.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) {
            let name = item.hasPrefix("`") && item.hasSuffix("`") && item.count > 2 ? String(item.dropFirst().dropLast()) : ""
            let pieces = name.split(separator: ".", omittingEmptySubsequences: false)
            guard pieces.count == 2, pieces.allSatisfy({ isIdentifier($0) }) else {
                problems.append("`\(item)` is neither a test reference (`Suite.test`) nor `n/a: why`")
                continue
            }
            if !tests.contains(name) {
                problems.append("`\(name)` is not a @Test func in a file declaring \(pieces[0]) under Tests/")
            }
        }
        return problems
    }

    static func isIdentifier(_ s: Substring) -> Bool {
        guard let first = s.first, first.isLetter || first == "_" else { return false }
        return s.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" }
    }

    /// `Type.test` for every `@Test` func of every Swift file under `dir`, paired with each
    /// type the file declares (or extends).
    static func testIndex(under dir: URL) throws -> Set<String> {
        let types = try Regex(#"\b(?:struct|class|actor|enum|extension)\s+([A-Za-z_][A-Za-z0-9_]*)"#, as: (Substring, Substring).self)
        let funcs = try Regex(#"\bfunc\s+([A-Za-z_][A-Za-z0-9_]*)\s*[(<]"#, as: (Substring, Substring).self)
        let attribute = try Regex(#"^[ \t]*@Test\b"#).anchorsMatchLineEndings()
        var index: Set<String> = []
        let files = FileManager.default.enumerator(at: dir, includingPropertiesForKeys: nil)
        while let url = files?.nextObject() as? URL {
            guard url.pathExtension == "swift" else { continue }
            let text = try String(contentsOf: url, encoding: .utf8)
            let declared = text.matches(of: types).map { String($0.output.1) }
            var previous = text.startIndex
            var testNames: [String] = []
            for match in text.matches(of: funcs) {
                // A test when a line starting with `@Test` stands between the previous func and this one.
                if text[previous..<match.range.lowerBound].contains(attribute) { testNames.append(String(match.output.1)) }
                previous = match.range.upperBound
            }
            for type in declared { for name in testNames { index.insert("\(type).\(name)") } }
        }
        return index
    }
}
