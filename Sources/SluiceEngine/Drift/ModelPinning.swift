import Foundation

extension ConfigLoader {
    /// A model id that names a moving alias rather than a dated snapshot: its provider may
    /// change the model behind it at any time (provider drift). Pinned ids end in a date
    /// (`-2024-08-06`, `-20241022`), a version number (`-001`) or carry `@`.
    public static func isUnpinned(_ model: String) -> Bool {
        if model.hasSuffix("-latest") || model.hasSuffix(":latest") { return true }
        let pinned = #/(-\d{4}-\d{2}-\d{2}|-\d{8}|-\d{3}|@[\w.-]+|-\d{4})$/#
        return model.firstMatch(of: pinned) == nil
    }

    /// One warning per configured target of a hosted provider whose model id is an alias.
    static func unpinnedModelWarnings(_ c: SluiceConfig) -> [String] {
        let hosted = Set(c.providers.filter { [.openai, .anthropic, .gemini, .azureOpenAI].contains($0.type) }.map(\.name))
        var out: [String] = []
        for (name, targets) in c.models {
            for t in targets where hosted.contains(t.provider) && isUnpinned(t.model) {
                out.append(
                    "models.\(name): '\(t.provider)/\(t.model)' is an unpinned alias; the provider can change the model behind it "
                        + "(provider drift). Pin a dated version, such as \(t.model)-2024-08-06, to keep outputs stable.")
            }
        }
        return out
    }
}
