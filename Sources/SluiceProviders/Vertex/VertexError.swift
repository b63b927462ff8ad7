import SluiceCore

/// Vertex AI's errors, already in Sluice's classes by status (``ProviderError``: 429 and 5xx
/// retried, 400 fatal, 401/403/404 to the next target), with what to check added where the
/// cause is usually the account's setup rather than the request.
enum VertexError {
    /// `error` with a hint for 401, 403 and 404 answers.
    static func decorated(_ error: ProviderError, settings: VertexProvider.Settings, model: String) -> ProviderError {
        guard error.kind == .http, let status = error.status else { return error }
        var e = error
        let credentials: String
        switch settings.credentials {
        case .accessToken: credentials = "access_token (a static token expires after about an hour)"
        case .serviceAccount(let account): credentials = "the service account \(account.clientEmail)"
        }
        switch status {
        case 401:
            e.message += " (Vertex AI refused \(credentials): check credentials_file or access_token)"
        case 403:
            e.message +=
                " (Vertex AI denied \(credentials) on project '\(settings.project)': it needs the Vertex AI User role "
                + "(roles/aiplatform.user), and the Vertex AI API must be enabled in the project)"
        case 404:
            let (publisher, bare) = VertexProvider.Publisher.route(model)
            e.message +=
                " (no \(publisher == .anthropic ? "Claude" : "Gemini") model '\(bare)' in location '\(settings.location)' of project "
                + "'\(settings.project)': check the model id and location"
                + (publisher == .anthropic ? ", and that the model is enabled in Model Garden)" : ")")
        default: break
        }
        return e
    }
}
