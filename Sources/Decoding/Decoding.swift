public enum DecodingPlaceholder {}
