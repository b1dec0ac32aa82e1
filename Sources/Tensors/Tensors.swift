public enum TensorsPlaceholder {}
