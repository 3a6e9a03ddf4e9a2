"""The Streamlit app for marketers."""
