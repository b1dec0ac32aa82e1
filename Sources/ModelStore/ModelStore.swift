public enum ModelStorePlaceholder {}
