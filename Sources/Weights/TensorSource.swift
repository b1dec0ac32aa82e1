// One way to load: every weight format is a reader behind `TensorSource`, and every model family
// names its tensors through a `TensorNames` table per format (llama.cpp's LLM_TENSOR_NAMES,
// gguf-py's tensor_mapping.py, candle's VarBuilder with `pp` prefix scoping). A family has one
// build function that asks a source for roles; a new format is a reader plus a table.
//
//   reader (CTranslate2, safetensors, GGUF, …) ──► TensorSource ──► Family.build(from:names:…)
//                                                     ▲
//                                    TensorNames<Family.Tensor>.ctranslate2 / .huggingFace / .gguf

import Foundation
import Tensors

/// A (rows, cols) weight matrix as a format stores it: float32 (safetensors, CTranslate2, with the
/// float16 twin of a float16 file), or GGML blocks that products read without dequantizing (GGUF).
public enum StoredMatrix {
    case dense(Tensor)
    case blocks(QuantizedMatrix)

    /// Rows readable one at a time (token embeddings): GGML blocks as they are, float32 as an f32 view.
    public func rowMatrix() throws -> QuantizedMatrix {
        switch self {
        case .blocks(let q): return q
        case .dense(let t):
            return try QuantizedMatrix(type: .f32, rows: t.shape[0], cols: t.shape[1], data: UnsafeRawPointer(t.data), owner: t)
        }
    }
}

/// Name-scoped, shape-checked tensors of one weight file, whatever its format. Every lookup marks
/// the tensor used, so a loader can refuse files holding tensors it did not account for.
public protocol TensorSource: AnyObject {
    /// The file, for error messages.
    var path: String { get }
    func contains(_ name: String) -> Bool
    /// Row-major shape of `name` (nil when absent); does not mark it used.
    func shape(of name: String) -> [Int]?
    /// `name` as float32, checked against the row-major `shape` (nil: any shape).
    func tensor(_ name: String, shape: [Int]?) throws -> Tensor
    /// `name` as a (rows, cols) matrix for products, in the type the format computes with best.
    func storedMatrix(_ name: String, rows: Int, cols: Int) throws -> StoredMatrix
    /// Names never looked up or explained.
    var unusedNames: [String] { get }
    /// Marks tensors a model reads for their information only, or knowingly ignores.
    func markExplained(_ names: [String])
}

extension TensorSource {
    /// Refuses a file that holds tensors `model` did not use (a different or damaged checkpoint).
    public func requireAllUsed(by model: String) throws {
        let unused = unusedNames
        guard unused.isEmpty else { throw WeightError(path, "tensors not used by \(model): \(unused.prefix(8).joined(separator: ", "))") }
    }
}

/// Checks each size read from a header or config within 1…2^24 before any product or allocation
/// uses it; `source` is the file the sizes came from, `prefix` what the message puts before a key.
public func checkSizes(_ sizes: [(String, Int)], source: String, prefix: String = "") throws {
    for (key, value) in sizes where value <= 0 || value > 1 << 24 {
        throw WeightError(source, "\(prefix)\(key) = \(value) is out of range (1…\(1 << 24))")
    }
}

/// How a format names a layer's parameters.
public struct TensorNameSuffixes: Sendable {
    public var weight, bias, normWeight, normBias: String
    /// Hugging Face and GGUF: `NAME.weight`, `NAME.bias`.
    public static let dotted = TensorNameSuffixes(weight: ".weight", bias: ".bias", normWeight: ".weight", normBias: ".bias")
    /// CTranslate2: `NAME/weight`, `NAME/bias`, norms `NAME/gamma`, `NAME/beta`.
    public static let ctranslate2 = TensorNameSuffixes(weight: "/weight", bias: "/bias", normWeight: "/gamma", normBias: "/beta")
}

/// Where one family's tensors are in one format: a role → name table, `%d` standing for the layer,
/// under a scope prefix. Linear and norm roles name a scope whose parameters carry the format's
/// suffixes (`.weight`/`.bias`, or CTranslate2's `/weight`, `/gamma`/`/beta`); other roles name
/// the tensor itself.
public struct TensorNames<Role: Hashable & Sendable>: Sendable {
    public typealias Suffixes = TensorNameSuffixes

    public let format: String
    public let prefix: String
    public let suffixes: Suffixes
    private let table: [Role: String]
    /// Roles that stay outside any scope (Hugging Face's `lm_head` beside `model.*`).
    private let unscoped: Set<Role>

    public init(format: String, prefix: String = "", suffixes: Suffixes = .dotted, unscoped: Set<Role> = [],
                _ table: [Role: String]) {
        self.format = format; self.prefix = prefix; self.suffixes = suffixes; self.unscoped = unscoped; self.table = table
    }

    /// The same table under `scope` (candle's `VarBuilder::pp`): `model.` + every scoped name.
    public func scoped(_ scope: String) -> TensorNames {
        TensorNames(format: format, prefix: scope + prefix, suffixes: suffixes, unscoped: unscoped, table)
    }

    /// Whether this format stores `role` at all (fused and separate projections are alternatives).
    public func has(_ role: Role) -> Bool { table[role] != nil }

    /// The name of `role` (in `layer`), without a parameter suffix.
    public func name(_ role: Role, layer: Int? = nil) -> String {
        guard let pattern = table[role] else { preconditionFailure("\(format) names no tensor for \(role)") }
        let name = layer.map { pattern.replacingOccurrences(of: "%d", with: String($0)) } ?? pattern
        return unscoped.contains(role) ? name : prefix + name
    }

    public func weight(_ role: Role, layer: Int? = nil) -> String { name(role, layer: layer) + suffixes.weight }
    public func bias(_ role: Role, layer: Int? = nil) -> String { name(role, layer: layer) + suffixes.bias }
    public func normWeight(_ role: Role, layer: Int? = nil) -> String { name(role, layer: layer) + suffixes.normWeight }
    public func normBias(_ role: Role, layer: Int? = nil) -> String { name(role, layer: layer) + suffixes.normBias }
}
