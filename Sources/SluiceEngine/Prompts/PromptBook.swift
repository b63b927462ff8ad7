import Foundation
import Synchronization

/// The live prompt library. A reload parses every file and checks every
/// purpose's prompt first; only a fully valid set replaces the old one, so a
/// broken file never takes a prompt away from running traffic.
public final class PromptBook: Sendable {
    private let current: Mutex<PromptLibrary>

    /// A book serving `library`.
    public init(library: PromptLibrary) { current = Mutex(library) }

    /// The library in force.
    public var library: PromptLibrary { current.withLock { $0 } }

    /// Reloads from `config.resolvedPromptsDir`; throws (keeping the old set) when a file
    /// is broken or a purpose's prompt went missing. Returns the new library.
    @discardableResult
    public func reload(config: SluiceConfig) throws -> PromptLibrary {
        let fresh = try PromptLoader.load(directory: config.resolvedPromptsDir)
        try ConfigLoader.validatePrompts(config, library: fresh)
        current.withLock { $0 = fresh }
        return fresh
    }
}
