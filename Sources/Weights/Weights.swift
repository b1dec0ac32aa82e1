public enum WeightsPlaceholder {}
