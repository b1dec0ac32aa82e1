// Logit rules applied before every Whisper decoding step, in CTranslate2's order
// (decoding.cc make_logits_processors; whisper.cc ApplyTimestampRules):
//   1. suppress_tokens always; 2. suppress_blank ids at the first step;
//   3. timestamp rules: <|notimestamps|> never; the first token is a timestamp ≤ max initial;
//      timestamps come in pairs except before EOT and never decrease; if the total probability
//      of timestamps beats every text token, a timestamp is forced.
// With a prefix (faster-whisper's `prefix`: forced tokens after the prompt), sampling begins after
// it: the begin rules apply at that step, the initial-timestamp rule not at all, and the pair and
// order rules look at the sampled tokens only (CTranslate2's get_sample_begin).

import Decoding
import Foundation
import Tensors

public struct WhisperLogitRules: LogitsProcessor {
    public let suppressed: [Int]
    public let suppressedAtBegin: [Int]
    public let timestamps: Bool
    public let endOfText: Int
    public let noTimestamps: Int
    public let timestampBegin: Int
    public let timestampEnd: Int
    public let maxInitialTimestamp: Int
    /// Length of the forced prefix: the first sampled step.
    public let sampleBegin: Int

    public init(tokenizer: WhisperTokenizer, suppressed: [Int], suppressedAtBegin: [Int], timestamps: Bool,
                maxInitialTimestampIndex: Int, sampleBegin: Int = 0) {
        self.suppressed = suppressed; self.suppressedAtBegin = suppressedAtBegin; self.timestamps = timestamps
        self.sampleBegin = sampleBegin
        endOfText = tokenizer.endOfText; noTimestamps = tokenizer.noTimestamps
        timestampBegin = tokenizer.timestampBegin; timestampEnd = tokenizer.timestampEnd
        maxInitialTimestamp = tokenizer.timestampBegin + maxInitialTimestampIndex
    }

    public func process(step: Int, generated: [Int], logits: UnsafeMutablePointer<Float>, vocabularySize: Int) {
        let off = -Float.infinity
        for t in suppressed where t < vocabularySize { logits[t] = off }
        if step == sampleBegin { for t in suppressedAtBegin where t < vocabularySize { logits[t] = off } }
        guard timestamps else { return }
        logits[noTimestamps] = off
        if step == 0 && sampleBegin == 0 {
            for t in 0..<timestampBegin { logits[t] = off }
            if maxInitialTimestamp + 1 <= timestampEnd { for t in (maxInitialTimestamp + 1)...timestampEnd { logits[t] = off } }
            return
        }
        guard step > sampleBegin else { return }
        var checkTimestampMass = true
        let last = generated[step - 1]
        if last >= timestampBegin {
            let penultimate = step - 1 > sampleBegin ? generated[step - 2] : last
            if penultimate >= timestampBegin {
                for t in timestampBegin...timestampEnd { logits[t] = off }     // must be text now
                checkTimestampMass = false
            } else {
                for t in 0..<endOfText { logits[t] = off }                    // timestamp or EOT
            }
        }
        if let lastTimestamp = generated[min(sampleBegin, generated.count)...].last(where: { $0 >= timestampBegin }),
           lastTimestamp > timestampBegin {
            for t in timestampBegin..<lastTimestamp { logits[t] = off }       // never decrease
        }
        guard checkTimestampMass else { return }
        // log-softmax after the masks above; compare logsumexp(timestamps) with the best text token.
        var maxValue = -Float.infinity
        for t in 0..<vocabularySize { maxValue = max(maxValue, logits[t]) }
        var textMax = -Float.infinity
        for t in 0..<timestampBegin { textMax = max(textMax, logits[t]) }
        var stampSum: Float = 0
        for t in timestampBegin...timestampEnd where logits[t] > off { stampSum += Foundation.exp(logits[t] - maxValue) }
        let stampLogSum = stampSum > 0 ? maxValue + Foundation.log(stampSum) : off
        if stampLogSum > textMax { for t in 0..<timestampBegin { logits[t] = off } }
    }
}
