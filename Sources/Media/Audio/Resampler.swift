import CHearthDeps

/// Streaming band-limited mono resampler (libsoxr, high quality: 20-bit, passband to 91 % of Nyquist).
/// Feed chunks with `process`, then call `flush` once; output is delay-compensated by soxr.
final class SoxrResampler {
    private let soxr: soxr_t
    private let ratio: Double
    private var output: [Float] = []

    /// Throws the soxr error text if the rates are rejected.
    init(inputRate: Double, outputRate: Double) throws(SoxrError) {
        var quality = soxr_quality_spec(UInt(SOXR_HQ), 0)
        var error: soxr_error_t?
        let created = soxr_create(inputRate, outputRate, 1, &error, nil, &quality, nil)
        guard let created, error == nil else {
            throw SoxrError(message: error.map { String(cString: $0) } ?? "soxr_create failed")
        }
        soxr = created
        ratio = outputRate / inputRate
    }

    deinit { soxr_delete(soxr) }

    /// Resamples `input` (mono) and hands the produced samples to `sink` (possibly none yet).
    func process(_ input: UnsafeBufferPointer<Float>, _ sink: (UnsafeBufferPointer<Float>) throws -> Void) throws {
        var consumed = 0
        while consumed < input.count {
            let remaining = input.count - consumed
            reserveOutput(for: remaining)
            var inputDone = 0
            let produced = try run(input.baseAddress! + consumed, remaining, &inputDone)
            if inputDone == 0 && produced == 0 { throw SoxrError(message: "no progress on \(remaining) input samples") }
            consumed += inputDone
            try output.withUnsafeBufferPointer { try sink(UnsafeBufferPointer(rebasing: $0[..<produced])) }
        }
    }

    /// Drains the filter tail at end of input.
    func flush(_ sink: (UnsafeBufferPointer<Float>) throws -> Void) throws {
        reserveOutput(for: 4096)
        while true {
            var inputDone = 0
            let produced = try run(nil, 0, &inputDone)
            if produced == 0 { return }
            try output.withUnsafeBufferPointer { try sink(UnsafeBufferPointer(rebasing: $0[..<produced])) }
        }
    }

    private func reserveOutput(for inputCount: Int) {
        let needed = Int((Double(inputCount) * ratio).rounded(.up)) + 64
        if output.count < needed { output = [Float](repeating: 0, count: needed) }
    }

    private func run(_ input: UnsafePointer<Float>?, _ count: Int, _ inputDone: inout Int) throws(SoxrError) -> Int {
        var outputDone = 0
        let capacity = output.count
        let error = output.withUnsafeMutableBufferPointer { buffer in
            soxr_process(soxr, input, count, &inputDone, buffer.baseAddress, capacity, &outputDone)
        }
        if let error { throw SoxrError(message: String(cString: error)) }
        return outputDone
    }
}

struct SoxrError: Error {
    let message: String
}
