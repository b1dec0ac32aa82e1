// Pipeline files and the batch runner (issue 3).
