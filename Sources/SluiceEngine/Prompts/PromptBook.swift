import Foundation

/// The live prompt library: a view of the library in ``LiveConfig``, which a
/// reload swaps together with the config (``Gateway/reload()``). A reload parses
/// every file and checks every purpose's prompt first; only a fully valid set
/// replaces the old one, so a broken file never takes a prompt away from running traffic.
public final class PromptBook: Sendable {
    private let live: LiveConfig

    /// A book serving the prompts of `live`.
    public init(live: LiveConfig) { self.live = live }

    /// The library in force.
    public var library: PromptLibrary { live.prompts }
}
