import Foundation
import SluiceCore
import SluiceJSONSchema
import Testing

/// Where the official JSON-Schema-Test-Suite lives: `../shared/testdata/…`
/// next to the package root.
enum OfficialSuite {
    /// `…/json-schema-test-suite/tests/draft2020-12`.
    static let directory: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()  // SluiceJSONSchemaTests
        .deletingLastPathComponent()  // Tests
        .deletingLastPathComponent()  // package root
        .appendingPathComponent("../shared/testdata/json-schema-test-suite/tests/draft2020-12")
        .standardizedFileURL

    /// Files that need remote documents, `$dynamicRef` or vocabularies: not supported.
    static let excludedFiles: Set<String> = ["refRemote.json", "dynamicRef.json", "vocabulary.json"]

    /// The least share of cases that must pass.
    static let requiredPassRate = 0.98

    static var isPresent: Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory) && isDirectory.boolValue
    }

    static var isCI: Bool { !(ProcessInfo.processInfo.environment["CI"] ?? "").isEmpty }

    /// The suite's `*.json` files (not `optional/`), minus the excluded ones, sorted.
    static func files() throws -> [URL] {
        try FileManager.default.contentsOfDirectory(at: directory, includingPropertiesForKeys: nil)
            .filter { $0.pathExtension == "json" && !excludedFiles.contains($0.lastPathComponent) }
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
    }
}

/// One case of the suite and whether the validator agreed with it.
struct SuiteCaseResult {
    var file: String
    var group: String
    var test: String
    var expectedValid: Bool
    var passed: Bool
    var note: String?

    var line: String {
        let expectation = expectedValid ? "valid" : "invalid"
        return "\(file) / \(group) / \(test) (expected \(expectation))" + (note.map { ": \($0)" } ?? "")
    }
}

@Suite struct OfficialSuiteTests {
    @Test(
        .enabled(
            if: OfficialSuite.isPresent || OfficialSuite.isCI,
            "JSON-Schema-Test-Suite not found next to the package (../shared); set CI to make this a failure"))
    func draft2020_12PassRate() throws {
        guard OfficialSuite.isPresent else {
            Issue.record("JSON-Schema-Test-Suite is missing: expected it at \(OfficialSuite.directory.path)")
            return
        }
        var results: [SuiteCaseResult] = []
        for file in try OfficialSuite.files() {
            results += try run(file)
        }
        let failures = results.filter { !$0.passed }
        let rate = Double(results.count - failures.count) / Double(max(results.count, 1))
        let percent = String(format: "%.2f", rate * 100)
        print("JSON Schema draft 2020-12 suite: \(results.count - failures.count)/\(results.count) cases pass (\(percent)%)")
        for failure in failures { print("  FAIL \(failure.line)") }
        #expect(results.count > 1000, "the suite looks incomplete")
        #expect(rate >= OfficialSuite.requiredPassRate, "pass rate \(percent)% is below \(OfficialSuite.requiredPassRate * 100)%")
    }

    private func run(_ file: URL) throws -> [SuiteCaseResult] {
        let name = file.lastPathComponent
        guard case .array(let groups) = try JSON.parse(Data(contentsOf: file)) else {
            Issue.record("\(name) is not an array of test groups")
            return []
        }
        var results: [SuiteCaseResult] = []
        for group in groups {
            let groupName = group["description"]?.stringValue ?? "?"
            let compiled = Result { () throws(SchemaError) in try JSONSchema(group["schema"] ?? .null) }
            for test in group["tests"]?.arrayValue ?? [] {
                let expected = test["valid"]?.boolValue ?? false
                var result = SuiteCaseResult(
                    file: name, group: groupName, test: test["description"]?.stringValue ?? "?",
                    expectedValid: expected, passed: false)
                switch compiled {
                case .success(let schema):
                    let errors = schema.validate(test["data"] ?? .null)
                    result.passed = errors.isEmpty == expected
                    if !result.passed, let first = errors.first { result.note = first.message }
                case .failure(let error):
                    result.note = "compile error: \(error)"
                }
                results.append(result)
            }
        }
        return results
    }
}
