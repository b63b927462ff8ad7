import Foundation

extension ConfigLoader {
    /// `evals: [{suite: evals/triage.yaml, every: 24h}]`; each suite must load.
    static func parseEvals(_ n: ConfigNode, directory: String?) throws -> [SluiceConfig.ScheduledEval] {
        try n.sequence().map { item in
            var path: String?
            var every = 86_400.0
            for (k, v) in try item.mapping(allowed: ["suite", "every"]) {
                switch k {
                case "suite": path = try v.string()
                case "every":
                    guard let s = SluiceConfig.seconds(try v.string()), s >= 60 else {
                        throw v.error("every must be a duration of at least 1m, such as 6h or 24h")
                    }
                    every = s
                default: break
                }
            }
            guard let path else { throw item.error("an eval needs suite: the path of a suite file") }
            let base = directory.flatMap { $0.isEmpty ? nil : $0 } ?? FileManager.default.currentDirectoryPath
            let file = path.hasPrefix("/") ? path : (base as NSString).appendingPathComponent(path)
            do { _ = try EvalSuite.load(path: file) } catch { throw item.error("eval suite '\(file)': \(error)") }
            return SluiceConfig.ScheduledEval(suitePath: file, everySeconds: every)
        }
    }
}
