"""Indonesian chat normalisation (pure Python; used by the Rasa component in nlu.components)."""
