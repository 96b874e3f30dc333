"""The domain's vocabulary: pure, importing nothing of ours."""
