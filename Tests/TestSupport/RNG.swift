import Foundation

/// Seeded splitmix64 generator (https://prng.di.unimi.it/splitmix64.c) so every test sees the same
/// "random" data on every run. `init(seed:)` scrambles the seed first; `init(state:)` starts from
/// the raw state (the GGUF reader and malformed-image tests' streams were made that way).
public struct TestRNG: RandomNumberGenerator {
    private var state: UInt64
    public init(seed: UInt64) { state = seed &* 0x2545_F491_4F6C_DD1D &+ 1 }
    public init(state: UInt64) { self.state = state }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    public mutating func unit() -> Double { Double(next() >> 11) / Double(1 << 53) }
    public mutating func uniform(_ lo: Float, _ hi: Float) -> Float { lo + (hi - lo) * Float(unit()) }
    /// Standard normal (Box–Muller).
    public mutating func normal() -> Float {
        let u = max(unit(), 1e-300), v = unit()
        return Float((-2 * Foundation.log(u)).squareRoot() * Foundation.cos(2 * Double.pi * v))
    }
    public mutating func normals(_ n: Int, scale: Float = 1) -> [Float] { (0..<n).map { _ in normal() * scale } }
    public mutating func int(_ range: Range<Int>) -> Int { range.lowerBound + Int(next() % UInt64(range.count)) }
}
