"""Model engines llmecon runs itself: the embedded SmolLM2 model on llama.cpp."""
