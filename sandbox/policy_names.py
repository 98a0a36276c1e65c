"""The reviewed module-level names a strategy may use, per allowed module (deny by default).

A function or class a library adds in a new release is refused until someone reads what it does
and lists it here. Everything listed computes in memory; left out on purpose, because they open
files, import modules by name or start processes: numpy's ``fromregex``/``genfromtxt``/
``loadtxt``/``load``/``save*``/``fromfile``/``memmap``/``DataSource``/``show_config``/``info``,
pandas' ``read_*``/``show_versions``/``set_option``/``get_option``/``option_context``/``options``/
``eval``/``ExcelWriter``/``HDFStore``/``api``/``io``/``plotting``, backtesting's ``Backtest``/
``Pool``/``set_bokeh_output`` and backtesting.lib's ``FractionalBacktest``/``MultiBacktest``/
``compute_stats``/``plot_heatmaps``. Submodules are governed by ALLOWED_MODULES in
sandbox.policy, and our own child-side modules (SELF_LISTED) by their ``__all__``. Standard
library only.
"""

from __future__ import annotations


def _names(text: str) -> frozenset[str]:
    return frozenset(text.split())


NUMPY = _names("""
    abs absolute add all allclose amax amin any append arange arccos arccosh arcsin arcsinh
    arctan arctan2 arctanh argmax argmin argpartition argsort argwhere around array array_equal
    asarray ascontiguousarray atleast_1d atleast_2d average bincount bool bool_ broadcast_to cbrt
    ceil clip column_stack concatenate convolve copy copysign corrcoef cos cosh count_nonzero cov
    cross cumprod cumsum cumulative_sum datetime64 deg2rad degrees diag diff digitize divide dot
    dtype e empty empty_like equal errstate exp exp2 expm1 eye fabs finfo fix flatnonzero flip
    float16 float32 float64 floating floor floor_divide fmax fmin fmod full full_like gradient
    greater greater_equal heaviside histogram hstack hypot identity iinfo inf int16 int32 int64
    int8 int_ integer interp intersect1d isclose isfinite isin isinf isnan isnat isscalar lexsort
    less less_equal linspace log log10 log1p log2 logaddexp logical_and logical_not logical_or
    logical_xor max maximum mean median min minimum mod multiply nan nan_to_num nanargmax
    nanargmin nancumprod nancumsum nanmax nanmean nanmedian nanmin nanpercentile nanprod
    nanquantile nanstd nansum nanvar ndarray ndim negative newaxis nonzero not_equal number ones
    ones_like outer partition percentile pi polyfit polyval power prod ptp quantile rad2deg
    radians ravel reciprocal remainder repeat reshape resize rint roll round searchsorted select
    shape sign signbit sin sinh size sort split sqrt square squeeze stack std subtract sum
    swapaxes take tan tanh tile timedelta64 trace transpose trapezoid tril triu true_divide trunc
    uint8 union1d unique unravel_index var vstack where zeros zeros_like
""")
NUMPY_RANDOM = _names("""
    Generator RandomState choice default_rng normal permutation rand randint randn random seed
    shuffle standard_normal uniform
""")
NUMPY_LINALG = _names("""
    LinAlgError cholesky det eig eigh eigvals inv lstsq matrix_rank norm pinv qr solve svd
""")
PANDAS = _names("""
    ArrowDtype BooleanDtype Categorical CategoricalDtype CategoricalIndex DataFrame DateOffset
    DatetimeIndex DatetimeTZDtype Float64Dtype Grouper Index Int64Dtype Interval IntervalIndex
    MultiIndex NA NaT NamedAgg Period PeriodIndex RangeIndex Series StringDtype Timedelta
    TimedeltaIndex Timestamp array bdate_range concat crosstab cut date_range factorize
    get_dummies interval_range isna isnull melt merge merge_asof notna notnull period_range
    pivot pivot_table qcut timedelta_range to_datetime to_numeric to_timedelta unique
""")
SCIPY_STATS = _names("""
    beta binom chi2 describe entropy expon f gamma gmean hmean iqr jarque_bera kendalltau
    ks_2samp kstest kurtosis linregress lognorm median_abs_deviation mode norm normaltest
    pearsonr percentileofscore poisson rankdata scoreatpercentile sem shapiro skew spearmanr t
    theilslopes trim_mean ttest_1samp ttest_ind uniform variation zscore
""")
SCIPY_SIGNAL = _names("""
    argrelextrema argrelmax argrelmin bessel butter cheby1 convolve correlate detrend filtfilt
    find_peaks firwin get_window hilbert lfilter lfilter_zi medfilt peak_prominences peak_widths
    periodogram savgol_filter sosfilt sosfiltfilt welch
""")
TA_TREND = _names("""
    ADXIndicator AroonIndicator CCIIndicator DPOIndicator EMAIndicator IchimokuIndicator
    KSTIndicator MACD MassIndex PSARIndicator SMAIndicator STCIndicator TRIXIndicator
    VortexIndicator WMAIndicator adx adx_neg adx_pos aroon_down aroon_up cci dpo ema_indicator
    ichimoku_a ichimoku_b ichimoku_base_line ichimoku_conversion_line kst kst_sig macd macd_diff
    macd_signal mass_index psar_down psar_down_indicator psar_up psar_up_indicator sma_indicator
    stc trix vortex_indicator_neg vortex_indicator_pos wma_indicator
""")
TA_MOMENTUM = _names("""
    AwesomeOscillatorIndicator KAMAIndicator PercentagePriceOscillator PercentageVolumeOscillator
    ROCIndicator RSIIndicator StochRSIIndicator StochasticOscillator TSIIndicator
    UltimateOscillator WilliamsRIndicator awesome_oscillator kama ppo ppo_hist ppo_signal pvo
    pvo_hist pvo_signal roc rsi stoch stoch_signal stochrsi stochrsi_d stochrsi_k tsi
    ultimate_oscillator williams_r
""")
TA_VOLATILITY = _names("""
    AverageTrueRange BollingerBands DonchianChannel KeltnerChannel UlcerIndex average_true_range
    bollinger_hband bollinger_hband_indicator bollinger_lband bollinger_lband_indicator
    bollinger_mavg bollinger_pband bollinger_wband donchian_channel_hband donchian_channel_lband
    donchian_channel_mband donchian_channel_pband donchian_channel_wband keltner_channel_hband
    keltner_channel_hband_indicator keltner_channel_lband keltner_channel_lband_indicator
    keltner_channel_mband keltner_channel_pband keltner_channel_wband ulcer_index
""")
TA_VOLUME = _names("""
    AccDistIndexIndicator ChaikinMoneyFlowIndicator EaseOfMovementIndicator ForceIndexIndicator
    MFIIndicator NegativeVolumeIndexIndicator OnBalanceVolumeIndicator VolumePriceTrendIndicator
    VolumeWeightedAveragePrice acc_dist_index chaikin_money_flow ease_of_movement force_index
    money_flow_index negative_volume_index on_balance_volume sma_ease_of_movement
    volume_price_trend volume_weighted_average_price
""")
TA_OTHERS = _names("""
    CumulativeReturnIndicator DailyLogReturnIndicator DailyReturnIndicator cumulative_return
    daily_log_return daily_return
""")
TALIB_FUNCTIONS = _names("""
    AC ACCBANDS ACOS AD ADD ADOSC ADR ADX ADXR AO APO AROON AROONOSC ASIN ATAN ATR AVGDEV AVGPRICE
    BBANDS BETA BOP CCI CDL2CROWS CDL3BLACKCROWS CDL3INSIDE CDL3LINESTRIKE CDL3OUTSIDE
    CDL3STARSINSOUTH CDL3WHITESOLDIERS CDLABANDONEDBABY CDLADVANCEBLOCK CDLBELTHOLD CDLBREAKAWAY
    CDLCLOSINGMARUBOZU CDLCONCEALBABYSWALL CDLCOUNTERATTACK CDLDARKCLOUDCOVER CDLDOJI CDLDOJISTAR
    CDLDRAGONFLYDOJI CDLENGULFING CDLEVENINGDOJISTAR CDLEVENINGSTAR CDLGAPSIDESIDEWHITE
    CDLGRAVESTONEDOJI CDLHAMMER CDLHANGINGMAN CDLHARAMI CDLHARAMICROSS CDLHIGHWAVE CDLHIKKAKE
    CDLHIKKAKEMOD CDLHOMINGPIGEON CDLIDENTICAL3CROWS CDLINNECK CDLINVERTEDHAMMER CDLKICKING
    CDLKICKINGBYLENGTH CDLLADDERBOTTOM CDLLONGLEGGEDDOJI CDLLONGLINE CDLMARUBOZU CDLMATCHINGLOW
    CDLMATHOLD CDLMORNINGDOJISTAR CDLMORNINGSTAR CDLONNECK CDLPIERCING CDLRICKSHAWMAN
    CDLRISEFALL3METHODS CDLSEPARATINGLINES CDLSHOOTINGSTAR CDLSHORTLINE CDLSPINNINGTOP
    CDLSTALLEDPATTERN CDLSTICKSANDWICH CDLTAKURI CDLTASUKIGAP CDLTHRUSTING CDLTRISTAR
    CDLUNIQUE3RIVER CDLUPSIDEGAP2CROWS CDLXSIDEGAP3METHODS CEIL CMF CMO CMOU COPPOCK CORREL COS
    COSH CUMSUM CVI DEMA DIV DONCHIAN DPO DX EFI EMA ER ERI EXP FLOOR FOSC FRACTAL HA HMA
    HT_DCPERIOD HT_DCPHASE HT_PHASOR HT_SINE HT_TRENDLINE HT_TRENDMODE IMI KAMA KC KDJ LINEARREG
    LINEARREG_ANGLE LINEARREG_INTERCEPT LINEARREG_SLOPE LN LOG10 MA MACD MACDEXT MACDFIX MAMA
    MARKETFI MASSI MAVP MAX MAXINDEX MEDPRICE MFI MIDPOINT MIDPRICE MIN MININDEX MINMAX
    MINMAXINDEX MINUS_DI MINUS_DM MOM MULT NATR NVI OBV PERCENTILE PERCENTRANK PLUS_DI PLUS_DM PPO
    PVI PVO PVT QSTICK RMA ROC ROCP ROCR ROCR100 RSI RVI RVOL SAR SAREXT SIN SINH SMA SMI SQRT
    STDDEV STOCH STOCHF STOCHRSI SUB SUM SUPERTREND T3 TAN TANH TEMA TRANGE TRIMA TRIX TSF TSI
    TYPPRICE ULTOSC VAR VHF VORTEX VWAP VWMA WAD WCLPRICE WILLR WMA ZLEMA
""")

MODULE_NAMES: dict[str, frozenset[str]] = {
    "math": _names("""
        acos acosh asin asinh atan atan2 atanh cbrt ceil comb copysign cos cosh degrees dist e
        erf erfc exp exp2 expm1 fabs factorial floor fmod frexp fsum gamma gcd hypot inf isclose
        isfinite isinf isnan isqrt lcm ldexp lgamma log log10 log1p log2 modf nan nextafter perm
        pi pow prod radians remainder sin sinh sqrt tan tanh tau trunc ulp
    """),
    "datetime": _names("MAXYEAR MINYEAR UTC date datetime time timedelta timezone tzinfo"),
    "decimal": _names("""
        Decimal DecimalException DivisionByZero InvalidOperation Overflow ROUND_05UP ROUND_CEILING
        ROUND_DOWN ROUND_FLOOR ROUND_HALF_DOWN ROUND_HALF_EVEN ROUND_HALF_UP ROUND_UP
    """),
    "re": _names("""
        A ASCII DOTALL I IGNORECASE M MULTILINE Match NOFLAG Pattern S VERBOSE X compile error
        escape findall finditer fullmatch match search split sub subn
    """),
    "statistics": _names("""
        NormalDist StatisticsError correlation covariance fmean geometric_mean harmonic_mean
        linear_regression mean median median_grouped median_high median_low mode multimode
        pstdev pvariance quantiles stdev variance
    """),
    "functools": _names("cache cmp_to_key lru_cache partial reduce"),
    "itertools": _names("""
        accumulate chain combinations combinations_with_replacement compress count cycle
        dropwhile filterfalse groupby islice pairwise permutations product repeat starmap
        takewhile tee zip_longest
    """),
    "collections": _names("Counter OrderedDict defaultdict deque namedtuple"),
    "numpy": NUMPY, "numpy.random": NUMPY_RANDOM, "numpy.linalg": NUMPY_LINALG,
    "pandas": PANDAS,
    "scipy": frozenset(), "scipy.stats": SCIPY_STATS, "scipy.signal": SCIPY_SIGNAL,
    "ta": _names("""
        add_all_ta_features add_momentum_ta add_others_ta add_trend_ta add_volatility_ta
        add_volume_ta
    """),
    "ta.trend": TA_TREND, "ta.momentum": TA_MOMENTUM, "ta.volatility": TA_VOLATILITY,
    "ta.volume": TA_VOLUME, "ta.others": TA_OTHERS,
    "talib": TALIB_FUNCTIONS | {"get_functions", "get_function_groups"},
    "talib.abstract": TALIB_FUNCTIONS | {"Function"},
    "backtesting": _names("Strategy"),
    "backtesting.lib": _names("""
        OHLCV_AGG SignalStrategy TRADES_AGG TrailingStrategy barssince cross crossover quantile
        resample_apply
    """),
    "backtesting.test": _names("BTCUSD EURUSD GOOG SMA"),
}
# Our own child-side modules: their public interface is their __all__, reviewed with the code.
SELF_LISTED = frozenset({"core.pine.runtime", "core.sizing"})
