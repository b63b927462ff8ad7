import Foundation
import SluiceCore
import SluiceEngine

extension AdminCostRoutes {
    /// `sort` (`cost` or `p95`, default `cost`) and `limit` (1…1000, default 50) of a grouped summary;
    /// a value outside them is a 400 that names the parameter and what it takes.
    static func sortAndLimit(_ sortText: String?, _ limitText: String?) throws -> (CostSummary.Sort, Int) {
        var sort = CostSummary.Sort.cost
        if let sortText {
            guard let s = CostSummary.Sort(rawValue: sortText) else {
                let allowed = CostSummary.Sort.allCases.map(\.rawValue).joined(separator: ", ")
                throw SluiceError.invalidRequest("sort must be one of \(allowed); got '\(sortText)'.", param: "sort")
            }
            sort = s
        }
        var limit = CostSummary.defaultLimit
        if let limitText {
            guard let n = Int(limitText), (1...CostSummary.maxLimit).contains(n) else {
                throw SluiceError.invalidRequest(
                    "limit must be a whole number from 1 to \(CostSummary.maxLimit); got '\(limitText)'.", param: "limit")
            }
            limit = n
        }
        return (sort, limit)
    }
}
