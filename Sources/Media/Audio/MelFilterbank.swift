import Foundation

/// Slaney-style mel filterbank, as `librosa.filters.mel(sr, n_fft, n_mels, htk=False, norm="slaney")`
/// computes it — the matrix openai/whisper ships as `assets/mel_filters.npz`
/// (https://github.com/openai/whisper/blob/main/whisper/audio.py, `mel_filters`).
public enum MelFilterbank {
    /// Dense filterbank, row-major `(nMels, nFFT / 2 + 1)`, computed in Double and rounded once to Float.
    public static func slaney(nMels: Int, sampleRate: Int = 16000, nFFT: Int = 400) -> [Float] {
        precondition(nMels > 0 && nFFT > 0 && sampleRate > 0)
        let bins = nFFT / 2 + 1
        // Band edges: nMels + 2 points equally spaced on the Slaney mel scale from 0 Hz to Nyquist.
        let maxMel = hzToMel(Double(sampleRate) / 2)
        let edges = (0..<(nMels + 2)).map { melToHz(maxMel * Double($0) / Double(nMels + 1)) }
        var weights = [Float](repeating: 0, count: nMels * bins)
        for mel in 0..<nMels {
            let (left, center, right) = (edges[mel], edges[mel + 1], edges[mel + 2])
            let areaNormalization = 2 / (right - left)
            for bin in 0..<bins {
                let frequency = Double(bin) * Double(sampleRate) / Double(nFFT)
                let rising = (frequency - left) / (center - left)
                let falling = (right - frequency) / (right - center)
                weights[mel * bins + bin] = Float(max(0, min(rising, falling)) * areaNormalization)
            }
        }
        return weights
    }

    // Slaney's scale: linear below 1 kHz (200/3 Hz per mel), logarithmic above (27 mels per factor 6.4).
    private static let hzPerMel = 200.0 / 3
    private static let logRegionStartHz = 1000.0
    private static let logRegionStartMel = logRegionStartHz / hzPerMel
    private static let melsLogStep = log(6.4) / 27

    static func hzToMel(_ hz: Double) -> Double {
        hz < logRegionStartHz ? hz / hzPerMel : logRegionStartMel + log(hz / logRegionStartHz) / melsLogStep
    }

    static func melToHz(_ mel: Double) -> Double {
        mel < logRegionStartMel ? mel * hzPerMel : logRegionStartHz * exp(melsLogStep * (mel - logRegionStartMel))
    }
}
