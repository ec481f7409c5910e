"""Submit checked datasets to a fine-tuning API and track the jobs; the only code that imports openai."""
