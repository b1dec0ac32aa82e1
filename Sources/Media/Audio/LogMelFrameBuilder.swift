import CHearthDeps
import Foundation

/// FFTW's planner is not thread-safe: every plan in this module is created while holding this lock.
private let fftwPlannerLock = NSLock()

/// A single-precision real-to-complex FFTW plan, created once per size and shared. Executing it
/// through the new-array interface (`fftwf_execute_dft_r2c`) is thread-safe, as long as the arrays
/// come from `fftwf_alloc_*` (same alignment as at planning time).
final class RealFFTPlan: @unchecked Sendable {
    static let whisper = RealFFTPlan(size: LogMelFrameBuilder.fftSize)

    let size: Int
    let plan: fftwf_plan

    private init(size: Int) {
        self.size = size
        fftwPlannerLock.lock()
        defer { fftwPlannerLock.unlock() }
        let input = fftwf_alloc_real(size)!
        let output = fftwf_alloc_complex(size / 2 + 1)!
        defer { fftwf_free(input); fftwf_free(output) }
        // FFTW_ESTIMATE: deterministic plan choice, so results do not depend on timing.
        plan = fftwf_plan_dft_r2c_1d(Int32(size), input, output, UInt32(FFTW_ESTIMATE))!
    }
}

/// Turns a stream of 16 kHz mono samples into log10-mel frames `(nMels,)`, one every 160 samples,
/// framed exactly as faster-whisper 1.2.1 `FeatureExtractor.__call__` frames a whole waveform
/// (https://github.com/SYSTRAN/faster-whisper/blob/v1.2.1/faster_whisper/feature_extractor.py):
/// 160 zero samples are appended, the signal is reflect-padded by 200 samples on both sides
/// (`center=True`), each 400-sample frame is multiplied by a periodic Hann window, its power
/// spectrum is projected on the mel filterbank, and the last STFT frame is dropped.
/// For N samples this yields N / 160 + 1 frames. Values are log10(max(mel, 1e-10)), not yet
/// clamped to (max − 8) nor scaled: that needs the global maximum, which the store tracks.
final class LogMelFrameBuilder {
    static let fftSize = 400
    static let hopLength = 160
    static let bins = fftSize / 2 + 1
    private static let centerPadding = fftSize / 2
    private static let trailingZeros = 160  // FeatureExtractor.__call__(padding=160)

    let nMels: Int
    private let store: MelFrameStore
    private let fft = RealFFTPlan.whisper
    private let filterRows: [(firstBin: Int, weights: [Float])]  // sparse rows of the (nMels, 201) filterbank
    private let window: [Float]  // (400,) periodic Hann, np.hanning(401)[:-1]
    private let fftInput: UnsafeMutablePointer<Float>  // (400,)
    private let fftOutput: UnsafeMutablePointer<fftwf_complex>  // (201,)
    private var power = [Float](repeating: 0, count: bins)  // (201,)
    private var melFrame: [Float]  // (nMels,)

    /// Signal samples held back until there are enough for the left reflect padding.
    private var head: [Float] = []
    /// Reflect-padded signal from `nextFrameStart` on; earlier samples are dropped in batches.
    private var padded: [Float] = []
    private var nextFrameStart = 0
    private var framesEmitted = 0
    private var frameLimit = Int.max
    private(set) var sampleCount = 0

    init(nMels: Int, store: MelFrameStore) {
        precondition(nMels > 0, "nMels must be positive")
        self.nMels = nMels
        self.store = store
        let bins = Self.bins
        let dense = MelFilterbank.slaney(nMels: nMels, nFFT: Self.fftSize)
        filterRows = (0..<nMels).map { mel in
            let row = dense[(mel * bins)..<((mel + 1) * bins)]
            guard let first = row.firstIndex(where: { $0 != 0 }), let last = row.lastIndex(where: { $0 != 0 }) else {
                return (0, [])
            }
            return (first - mel * bins, Array(row[first...last]))
        }
        window = (0..<Self.fftSize).map { Float(0.5 - 0.5 * cos(2 * Double.pi * Double($0) / Double(Self.fftSize))) }
        fftInput = fftwf_alloc_real(Self.fftSize)!
        fftOutput = fftwf_alloc_complex(bins)!
        melFrame = [Float](repeating: 0, count: nMels)
    }

    deinit {
        fftwf_free(fftInput)
        fftwf_free(fftOutput)
    }

    func append(_ samples: UnsafeBufferPointer<Float>) throws {
        sampleCount += samples.count
        try appendSignal(samples)
    }

    /// Ends the stream: appends the trailing zeros and the right reflect padding, emits the remaining frames.
    func finish() throws {
        try [Float](repeating: 0, count: Self.trailingZeros).withUnsafeBufferPointer { try appendSignal($0) }
        let signalLength = sampleCount + Self.trailingZeros
        let pad = Self.centerPadding
        if head.isEmpty {
            // The right reflect mirrors the last 201 signal samples around the last one.
            let end = padded.count - 1
            padded.append(contentsOf: (1...pad).map { padded[end - $0] })
        } else {
            // Too short to have started (≤ 200 samples): numpy's reflect of a short array
            // is the signal extended periodically as x0 x1 … xn-1 xn-2 … x1 x0 x1 …
            let period = 2 * (signalLength - 1)
            padded = (-pad..<(signalLength + pad)).map { index in
                let wrapped = ((index % period) + period) % period
                return head[wrapped < signalLength ? wrapped : period - wrapped]
            }
            head = []
        }
        frameLimit = signalLength / Self.hopLength  // 1 + L / hop STFT frames, minus the dropped last one
        try emitAvailableFrames()
    }

    private func appendSignal(_ samples: UnsafeBufferPointer<Float>) throws {
        if !padded.isEmpty {
            padded.append(contentsOf: samples)
        } else {
            head.append(contentsOf: samples)
            let pad = Self.centerPadding
            guard head.count > pad else { return }
            // Left reflect padding: x[200], x[199], …, x[1], then the signal.
            padded.reserveCapacity(head.count + pad + AudioDecoder.chunkFrames)
            padded.append(contentsOf: (1...pad).reversed().map { head[$0] })
            padded.append(contentsOf: head)
            head = []
        }
        try emitAvailableFrames()
    }

    private func emitAvailableFrames() throws {
        while framesEmitted < frameLimit, nextFrameStart + Self.fftSize <= padded.count {
            computeFrame(at: nextFrameStart)
            try melFrame.withUnsafeBufferPointer { try store.append($0) }
            framesEmitted += 1
            nextFrameStart += Self.hopLength
        }
        // Drop framed samples in batches; at least the last 240 stay, enough for the right reflect.
        if nextFrameStart >= AudioDecoder.chunkFrames {
            padded.removeFirst(nextFrameStart)
            nextFrameStart = 0
        }
    }

    /// One STFT frame starting at `start` in `padded` → `melFrame` (log10 mel energies).
    private func computeFrame(at start: Int) {
        padded.withUnsafeBufferPointer { signal in
            for i in 0..<Self.fftSize { fftInput[i] = signal[start + i] * window[i] }
        }
        fftwf_execute_dft_r2c(fft.plan, fftInput, fftOutput)
        for bin in 0..<Self.bins {
            let (real, imaginary) = fftOutput[bin]
            power[bin] = real * real + imaginary * imaginary
        }
        for mel in 0..<nMels {
            let row = filterRows[mel]
            var energy: Float = 0
            for (offset, weight) in row.weights.enumerated() { energy += weight * power[row.firstBin + offset] }
            melFrame[mel] = log10(max(energy, 1e-10))
        }
    }
}
