public enum LifeboatArchiveModule {}
