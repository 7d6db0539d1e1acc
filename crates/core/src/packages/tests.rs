//! Tests of the package model.
