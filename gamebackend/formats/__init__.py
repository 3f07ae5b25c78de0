"""The admin's date formats (FORMAT_MODULE_PATH): one for days, one for moments, in every locale
Django would pick for this project."""
