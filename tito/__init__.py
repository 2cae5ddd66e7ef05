"tito: the TinyTorch course CLI (students export and test, instructors grade, maintainers check)."
